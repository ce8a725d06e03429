"""What persists between runs: the results store (maps, scores, model descriptions) and the analyst's
verdicts."""
