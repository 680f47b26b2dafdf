"""A cross-encoder that reads a question and a candidate sentence together
and says how likely the sentence answers it: an experiment of issue 24,
trained and measured but not used by the app (docs/answers.md, "A reader
model (issue 24)": in the real pipeline it picks the evidence sentence less
often than the logistic sentence model of ``qa.answer``).

``inputs`` turns a pair into token ids, ``data`` builds the training and
held-out examples, ``model`` is the network and its saved form, ``train``
the training command (``python -m qa.reader.train``; ``make reader``); the
held-out figures are ``qa.evaluation.reader``.
"""
