"""Quality measured, not asserted: question sets in, figures out.

``relevance`` decides which passages answer a question (as the official
``score.py`` does), ``metrics`` turns rankings into Recall@k / MRR / nDCG,
``runner`` searches a set under several configurations, ``report`` writes
tables, charts and TREC files, ``answers`` scores what ``qa ask`` answers (as
``score_answers.py`` does), ``cli`` is ``qa eval``.
"""
