"""Text primitives, one home each: every stage folds, cuts and compares text
through these modules and nowhere else.

- ``qa.text.fold``: the forms a text is compared in (width, script, case, word characters);
- ``qa.text.simplify``: traditional -> simplified (OpenCC t2s);
- ``qa.text.ngrams``: character n-grams, coverage, containment, shingles;
- ``qa.text.sentences``: sentence spans and units as offsets;
- ``qa.text.numbers``: Chinese numerals (一、 （三） 十二是);
- ``qa.text.tokenize`` (with ``qa.text.jieba_dict``): the BM25 tokens;
- ``qa.text.glossary``: English and colloquial questions in the reports' words.
"""
