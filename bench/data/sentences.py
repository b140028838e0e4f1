"""Sentence lists for the synthetic speech: one for the test split, a disjoint one for train.

The sentences were written for this bench (short, 5 to 9 words, so that an utterance
at espeak-ng's ordinary rates fits in 2 to 4 seconds). Babble talkers in a split only
use that split's sentences, so no test sentence is ever heard in the train split.
Sentence ids are stable: ``ts001``.. for test and ``tr001``.. for train. Append new
sentences at the end; never reorder or edit existing ones (ids and sets depend on them).
"""

from __future__ import annotations

_TEST = """\
The little boat drifted past the old mill.
Please bring the blue folder to my desk.
A cold wind swept across the empty field.
She painted the fence a pale shade of green.
Our train leaves the station at half past nine.
The baker sold every loaf before noon.
Turn the lamp off when you leave the room.
Heavy rain kept the children indoors all day.
He found a silver coin under the bench.
The river rose quickly after the storm.
Write your name at the top of the page.
Fresh bread smells wonderful in the morning.
The clock in the hall struck seven times.
We planted tomatoes along the garden wall.
A gray cat slept on the warm windowsill.
The pilot checked the engines before takeoff.
Bright lanterns hung from every branch.
Keep the receipt in case the shoes do not fit.
The museum opens its doors at ten.
Thick fog rolled in from the harbor.
My neighbor repairs old radios for fun.
The soup needs a little more salt.
Two geese landed softly on the pond.
Lock the gate so the dog stays inside.
The teacher handed out the final exams.
A narrow path winds up the steep hill.
The orchestra tuned up before the concert.
He sharpened the pencil with a small knife.
The market is busy on Saturday mornings.
Snow covered the roofs by early evening.
Pour the milk slowly into the bowl.
The map was folded inside the glove box.
A sudden noise woke the sleeping baby.
The farmer counted sheep in the meadow.
Her bicycle has a basket and a bell.
The kettle whistled loudly on the stove.
They watched the sunset from the pier.
Each ticket costs four dollars and fifty cents.
The workers finished the bridge last spring.
Quiet voices drifted up from the street below.
"""

_TRAIN = """\
The garage door squeaks every time it opens.
A flock of starlings circled above the barn.
Grandmother keeps her buttons in a tin box.
The shop on the corner sells fresh flowers.
Mix the flour and sugar in a large bowl.
The hikers rested beside a clear mountain lake.
His old jacket has a hole in the sleeve.
We missed the bus by less than a minute.
The printer ran out of paper again.
Dark clouds gathered over the western hills.
The puppy chewed the corner of the rug.
Please close the window before it starts raining.
The library closes early on public holidays.
A red kite floated high above the beach.
She stirred honey into her cup of tea.
The nurse wrote the numbers on a chart.
Wet leaves covered the path through the park.
The engine coughed twice and then fell silent.
Children laughed as the clown juggled oranges.
The violin case was left on the train.
We ate lunch under a large oak tree.
A thin layer of dust covered the piano.
The students built a robot out of cardboard.
Wash the vegetables before you chop them.
The lighthouse beam swept across the bay.
The mayor cut the ribbon at the new school.
Our team scored twice in the second half.
The candle flickered in the drafty hallway.
A small brown mouse ran behind the stove.
The waiter brought two glasses of cold water.
Thunder rumbled softly in the distance.
The carpenter measured the board three times.
I left my umbrella at the dentist's office.
The ferry crosses the lake every hour.
Ripe peaches fell from the branches overnight.
The referee blew the whistle to end the game.
She tied a yellow ribbon around the gift.
The motor hummed quietly in the basement.
A tall ladder leaned against the barn wall.
The chef tasted the sauce and added pepper.
Our flight was delayed by strong winds.
He whistled a tune while washing the dishes.
The fishermen returned at dawn with empty nets.
The tulips bloom early in a warm spring.
Please sign the form and return it by Friday.
The ice on the pond cracked under his boots.
An owl hooted from the top of the pine.
The cupboard is full of mismatched plates.
The bus driver waved as we crossed the road.
A spider spun its web across the doorway.
The soldiers marched slowly through the square.
Warm sand stuck to our feet at the beach.
The old radio crackled with distant music.
She keeps a diary on the bedside table.
The mechanic replaced the worn brake pads.
A long queue formed outside the bakery.
The rain barrel overflowed during the night.
Dad burned the toast again this morning.
The choir practiced in the church on Thursday.
The gardener trimmed the hedge into a square.
We counted the stars from the rooftop.
Her glasses slipped off the end of her nose.
The fire alarm went off during the meeting.
A blue heron stood still in the shallow water.
The doctor asked him to breathe deeply.
Coins rattled in the bottom of the jar.
The attic smells of cedar and old books.
They painted a mural on the school wall.
The cyclist climbed the hill without stopping.
My sister plays the trumpet in a band.
Fresh snow makes the whole town quiet.
The carpet needs a thorough cleaning.
A paper boat floated down the gutter.
The judge listened carefully to both sides.
The cherries were sour but very juicy.
He lost his keys somewhere in the garden.
The sailors raised the sails at first light.
A loud crash came from the kitchen.
The jar of pickles would not open.
The lawn mower started on the third pull.
We followed the signs to the camp site.
Her new shoes pinched her toes all day.
The horses galloped across the open plain.
Fold the towels and put them on the shelf.
The factory whistle blows at five o'clock.
A curious fox watched us from the woods.
The professor forgot his notes at home.
Steam rose from the hot spring at dawn.
The toddler stacked the blocks into a tower.
The parade moved slowly down the main street.
A cool breeze came through the open door.
The plumber fixed the leak under the sink.
My grandfather tells stories about the war.
The tent collapsed in the middle of the night.
Sunlight sparkled on the surface of the sea.
She bought a new scarf at the winter fair.
The cows waited patiently by the gate.
The coffee machine at work is broken again.
A green lizard sunned itself on a rock.
The runners lined up for the final race.
The chimney needs sweeping before winter.
He carried the groceries up four flights of stairs.
The bell rang and the pupils rushed outside.
We shared a pizza after the long drive.
The wooden bridge creaked under the cart.
A pair of swans glided along the canal.
The storm knocked down three old trees.
Her laugh could be heard across the room.
The envelope had no stamp on it.
Bees buzzed around the lavender bushes.
The magician pulled a scarf from his sleeve.
The baby giggled at the funny faces.
We repainted the kitchen a warm yellow.
The tractor left deep tracks in the mud.
A faint smell of smoke filled the air.
The astronaut waved from the launch pad.
The cookies cooled on a rack by the window.
The crowd cheered when the band came on stage.
Moss grew thickly on the north side of the wall.
The old dog sleeps by the fire all evening.
"""


def _parse(text: str, prefix: str) -> tuple[tuple[str, str], ...]:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return tuple((f"{prefix}{i + 1:03d}", ln) for i, ln in enumerate(lines))


TEST_SENTENCES: tuple[tuple[str, str], ...] = _parse(_TEST, "ts")
"""(sentence id, text) pairs for the test split."""

TRAIN_SENTENCES: tuple[tuple[str, str], ...] = _parse(_TRAIN, "tr")
"""(sentence id, text) pairs for the train split; disjoint from TEST_SENTENCES."""


def sentences_for(split: str) -> tuple[tuple[str, str], ...]:
    """The sentence list of a split ("test" or "train")."""
    if split == "test":
        return TEST_SENTENCES
    if split == "train":
        return TRAIN_SENTENCES
    raise ValueError(f"split must be 'test' or 'train', got {split!r}")
