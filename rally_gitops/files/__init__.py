"""Migration files: the file model, discovery and the statement splitter."""
