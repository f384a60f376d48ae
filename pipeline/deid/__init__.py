"""De-identification: the deid stage, metadata policy, recognizers, prefilter, regex reversal, tags, surrogates, tagger, scoring."""
