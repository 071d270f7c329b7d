"""The canonical model and the vocabularies every layer shares: the case, dtypes, input arrays,
named modes and documented formulas, outcomes and features."""
