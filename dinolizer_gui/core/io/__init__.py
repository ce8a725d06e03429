"""Reading evidence and writing outputs: images opened read-only, file hashes, file names as safe text, and
outputs written durably and marked so that they are never taken for evidence."""
