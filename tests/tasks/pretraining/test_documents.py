"""Pre-training text into documents: blank lines and wikitext headings between documents, HTML line breaks as line
breaks."""

from bertcli.tasks.pretraining.documents import _row_sentences, documents_from_lines, text_file_documents


def test_documents_from_text_and_wikitext_headings():
    plain = ["first sentence .", "second one .", "", "another document .", ""]
    assert list(documents_from_lines(plain)) == [["first sentence .", "second one ."], ["another document ."]]
    wiki = [
        " = Homarus = ",
        "",
        " It is big . It is blue . ",
        "",
        " = = Habitat = = ",
        "",
        " Sea . ",
        "",
        " = Robert = ",
        "",
        " An actor . ",
    ]
    assert list(documents_from_lines(wiki)) == [["It is big .", "It is blue .", "Sea ."], ["An actor ."]]


def test_html_line_breaks_are_line_breaks_not_documents(tmp_path):
    review = "A fine film.<br /><br />The cast &amp; crew shine<br/>and <i>never</i> falter"
    assert _row_sentences(review, clean_html=True) == ["A fine film.", "The cast & crew shine", "and never falter"]
    assert "<br />" in " ".join(_row_sentences(review))  # only with the option
    path = tmp_path / "reviews.txt"
    path.write_text(f"{review}\n<br />\nSecond line of the first.\n\nAnother review.\n")
    documents = [d["sentences"] for d in text_file_documents(str(path), clean_html=True)]
    assert documents == [
        ["A fine film.", "The cast & crew shine", "and never falter", "Second line of the first."],
        ["Another review."],
    ]
