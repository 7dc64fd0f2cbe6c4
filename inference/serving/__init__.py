"""Online serving: the ranking API, the result cache and the refresher that keeps it fresh."""
