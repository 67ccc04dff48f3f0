"""People: the user's decisions about faces (names, merges, undo) and the grouping and suggestions that help."""
