"""`predict` of a token classifier: entities from tags, with their characters in the text."""


def test_predicted_entities_span_their_words_characters():
    from bertcli.predict.token_classification import TokenClassificationPredictor

    text = "Dr.  Li  Wei 访问 北京 ."
    spans = [(0, 2), (2, 3), (5, 7), (9, 12), (13, 14), (14, 15), (16, 17), (17, 18), (19, 20)]
    tags = ["O", "O", "B-PER", "I-PER", "O", "O", "B-LOC", "E-LOC", "O"]
    predictor = TokenClassificationPredictor.__new__(TokenClassificationPredictor)
    predictor.entities = True
    found = predictor._from_text(text, spans, [(t, 0.5) for t in tags])["entities"]
    assert [(e["type"], e["text"]) for e in found] == [("PER", "Li  Wei"), ("LOC", "北京")]
    assert all(text[e["start"] : e["end"]] == e["text"] for e in found)
