"""Use cases of the ONE platform; each public method is one unit of work."""
