"""Reports: the report model, JSON (with schema), PDF and HTML, PNG maps."""
