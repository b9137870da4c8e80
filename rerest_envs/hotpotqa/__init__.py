"""HotpotQA as a retrieval environment: ReAct's Search / Lookup / Finish over a local BM25 corpus
(default), the live Wikipedia API, or the official abstracts dump; EM reward, F1 in feedback."""

from rerest_envs.hotpotqa.actions import ACTION_GRAMMAR, VALID_ACTIONS, ParsedAction, paper_action_text, parse_action, parse_action_paper
from rerest_envs.hotpotqa.corpus import BM25Corpus, Corpus, Page, loose_key, pages_from_records, read_abstracts_dump, title_key
from rerest_envs.hotpotqa.data import SPLITS, HotpotRecord, eval_shuffle, load_split, read_records
from rerest_envs.hotpotqa.env import BACKENDS, PAPER_MAX_STEPS, PROTOCOLS, HotpotQAEnv
from rerest_envs.hotpotqa.scoring import exact_match, f1_score, normalize_answer, score_answer
from rerest_envs.hotpotqa.wikipedia import WikipediaCorpus

__all__ = ["ACTION_GRAMMAR", "BACKENDS", "PAPER_MAX_STEPS", "PROTOCOLS", "SPLITS", "VALID_ACTIONS", "BM25Corpus", "Corpus", "HotpotQAEnv", "HotpotRecord",
           "Page", "ParsedAction", "WikipediaCorpus", "eval_shuffle", "exact_match", "f1_score", "load_split", "loose_key",
           "normalize_answer", "paper_action_text", "pages_from_records", "parse_action", "parse_action_paper", "read_abstracts_dump", "read_records",
           "score_answer", "title_key"]
