"""policy-qa: cited retrieval and question answering over Chinese policy reports.

Data flows one way: corpus files -> Document (loading, cleaning, splitting)
-> Chunk (outline, chunking) -> index -> Hit (retrieval) -> Answer.
"""

__version__ = "0.1.0"
