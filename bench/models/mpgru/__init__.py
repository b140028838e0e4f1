"""The mixed-precision GRU family (issue #15, docs/mpgru.md): per-task GRU classifiers, their float
reference, the integer golden model for any genome (bench.models.common.gru_int with a GruGenome),
the C tables of the images, and the NSGA-II search over the genomes. Nothing else imports this
package; the family plugin is bench/families/mpgru.py."""
