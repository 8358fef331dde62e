"""Token classification: a tag for every word (named entities, parts of speech): `bertcli finetune ner`."""
