"""Self-critical sequence training (Rennie et al. 2017): after cross-entropy, the decoder is tuned to
raise the CIDEr-D of captions it samples itself, so it is trained on its own mistakes, not only on the
reference's next word (exposure bias), and on the measure the captions are judged by.

Each image gets K sampled captions; a caption's advantage is its CIDEr-D minus the mean CIDEr-D of the
image's other K-1 samples (Luo 2020), a baseline that needs no extra greedy decode per batch.
Document frequencies come from the training references once (CIDEr-D as the caption literature trains it);
the score itself is pycocoevalcap's CIDEr-D code.

Shapes, by letter: N images, K samples per image, B = N*K rows, T steps, V vocabulary."""
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from pycocoevalcap.cider.cider_scorer import CiderScorer, cook_refs, cook_test
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from model.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from model.data import DEFAULT_DATA
from model.features import DEFAULT_CACHE
from model.search import never_said
from model.train import TrainConfig, append_log, prepare_data, take_step, teacher_forced_loss, time_to_stop
from model.vocabulary import Vocabulary, tokenize

PROJECT = Path(__file__).resolve().parents[1]


@dataclass
class ScstConfig:
    start: str = ""               # the cross-entropy checkpoint to start from
    data_dir: str = str(DEFAULT_DATA)
    cache_dir: str = str(DEFAULT_CACHE)
    out_dir: str = str(PROJECT / "runs" / "scst")
    epochs: int = 6
    batch_images: int = 32
    samples: int = 5              # K captions sampled per image
    lr: float = 2e-4
    max_length: int = 16          # words sampled at most; Flickr8k's references are rarely longer
    xe_weight: float = 0.0        # >0: the references' cross-entropy is kept in the loss at this weight, against the
                                  # shorter captions (and lower METEOR) the CIDEr-D reward alone leads to
    meteor_weight: float = 0.0    # >0: the reward is CIDEr-D + this times METEOR, which credits a caption's recall of
                                  # the references (synonyms and stems too) where CIDEr-D favours short, sure n-grams
    false_penalty: float = 0.0    # >0: a sample that names a person, animal or thing no reference of its image
                                  # mentions (WordNet, as the doubt is calibrated) loses this much reward, since
                                  # CIDEr-D alone pays for a common subject ("a man") whether or not it is there
    clip: float = 2.0
    ema: float = 0.99             # the average is validated and saved; a shorter horizon than cross-entropy's,
                                  # as this stage has far fewer steps
    patience: int = 2             # val falls soon after the first epochs (benchmarks/results/scst_tuning.md)
    val_beam: int = 3
    max_minutes: float = 0.0
    limit: int = 0
    seed: int = 0
    resume: bool = False


class _CorpusScorer(CiderScorer):
    """pycocoevalcap's CIDEr-D with the document frequencies and log corpus size of a whole corpus.

    The library recomputes both from whatever batch it is given, which would make a caption's reward
    depend on the other images in its batch; compute_cider's own assignment of ref_len is ignored."""
    ref_len = property(lambda self: self._corpus_ref_len, lambda self, value: None)

    def __init__(self, document_frequency, corpus_ref_len: float):
        super().__init__()
        self.document_frequency, self._corpus_ref_len = document_frequency, corpus_ref_len


class CorpusCider:
    """CIDEr-D rewards of captions against their image's references, frequencies from the same (training) set.

    Each image's references are tokenized and cooked once, here, for the frequencies and for every reward."""

    def __init__(self, corpus_references: list[list[str]]):
        counter = CiderScorer()
        counter.crefs = [cook_refs([" ".join(tokenize(r)) for r in refs]) for refs in corpus_references]
        counter.compute_doc_freq()
        self.cooked, self.document_frequency = counter.crefs, counter.document_frequency
        self.ref_len = float(np.log(len(counter.crefs)))

    def scores(self, captions: list[str], images: list[int]) -> np.ndarray:
        """captions[i] is scored against the references of corpus image images[i]."""
        scorer = _CorpusScorer(self.document_frequency, self.ref_len)
        scorer.ctest = [cook_test(" ".join(tokenize(c))) for c in captions]
        scorer.crefs = [self.cooked[i] for i in images]
        return np.asarray(scorer.compute_cider(), dtype=np.float64)


class FalseSubjects:
    """1.0 for each caption that names a person, animal or thing that no reference of its image mentions."""

    def __init__(self, corpus_references: list[list[str]]):
        from model.concepts import _wordnet, thing_noun
        self.references, self.kind = corpus_references, thing_noun(_wordnet())

    def scores(self, captions: list[str], images: list[int]) -> np.ndarray:
        from model.concepts import false_subject
        return np.array([false_subject(c, self.references[i], self.kind) for c, i in zip(captions, images)],
                        dtype=np.float64)


class JavaMissing(RuntimeError):
    pass


class CorpusMeteor:
    """METEOR rewards of captions against their image's references: pycocoevalcap's scorer (Java), one process
    kept for the whole stage. An empty caption scores 0 without asking it."""

    def __init__(self, corpus_references: list[list[str]]):
        from pycocoevalcap.meteor.meteor import Meteor
        self.references = [[" ".join(tokenize(r)) for r in refs] for refs in corpus_references]
        try:
            self._meteor = Meteor()
        except FileNotFoundError:
            raise JavaMissing("the METEOR reward needs Java: install a Java runtime (default-jre-headless)") from None

    def scores(self, captions: list[str], images: list[int]) -> np.ndarray:
        """captions[i] is scored against the references of corpus image images[i]."""
        out = np.zeros(len(captions), dtype=np.float64)
        said = [i for i, c in enumerate(captions) if tokenize(c)]
        if said:
            _, scores = self._meteor.compute_score({k: self.references[images[i]] for k, i in enumerate(said)},
                                                   {k: [" ".join(tokenize(captions[i]))] for k, i in enumerate(said)})
            out[said] = scores
        return out

    def close(self) -> None:
        process = self._meteor.meteor_p
        process.stdin.close()
        process.kill()
        process.wait()


def sample(decoder, features: torch.Tensor, k: int, start: int, end: int, pad: int, banned: torch.Tensor,
           max_length: int):
    """K captions per image, sampled word by word with gradients: (ids (B, T), log-probs (B, T), mask (B, T)).

    Words never to be said (<unk>, <start>, <pad>) get no probability, so the model is never rewarded
    for a word the product would not speak. A row's steps after its <end> are masked out."""
    n = features.size(0)
    rows = torch.arange(n).repeat_interleave(k)                         # (B,) image of each sample
    state = decoder.init_state(features, rows)
    words = torch.full((n * k,), start, dtype=torch.long)
    alive = torch.ones(n * k, dtype=torch.bool)
    ids, logps, masks = [], [], []
    for _ in range(max_length + 1):                                     # + 1: room for <end>
        logits, state, _ = decoder.step(state, words)                   # (B, V)
        logp = torch.log_softmax(logits.index_fill(1, banned, float("-inf")), dim=1)
        words = torch.multinomial(logp.detach().exp(), 1).squeeze(1)    # (B,)
        masks.append(alive)
        logps.append(logp.gather(1, words[:, None]).squeeze(1))
        ids.append(torch.where(alive, words, torch.full_like(words, pad)))
        alive = alive & (words != end)
        if not alive.any():
            break
    return torch.stack(ids, 1), torch.stack(logps, 1), torch.stack(masks, 1).float()


def words_of(ids: torch.Tensor, vocab: Vocabulary) -> list[str]:
    return [vocab.decode(row) for row in ids.tolist()]


def self_critical_loss(logps: torch.Tensor, mask: torch.Tensor, rewards: torch.Tensor, k: int) -> torch.Tensor:
    """Policy gradient with the other samples' mean as baseline: rewards (B,), logps and mask (B, T)."""
    r = rewards.view(-1, k)                                             # (N, K)
    baseline = (r.sum(1, keepdim=True) - r) / (k - 1)                   # (N, K): mean of the other K-1
    advantage = (r - baseline).reshape(-1, 1)                           # (B, 1)
    return -(advantage * logps * mask).sum() / mask.sum()


def val_scores(decoder, vocab: Vocabulary, features: torch.Tensor, references: list[list[str]], beam: int) -> dict:
    """BLEU-4 and CIDEr-D on val, decoded as the product decodes (our tokenizer: no Java needed)."""
    from model.evaluate import caption_features
    from model.metrics import bleu4_and_cider
    was_training = decoder.training
    decoder.eval()
    hyps = caption_features(decoder, vocab, features.numpy(), beam)
    decoder.train(was_training)
    return bleu4_and_cider(hyps, references)


def train_scst(cfg: ScstConfig, log=print, prepared=None) -> Path:
    """Tune a cross-entropy checkpoint with SCST; returns the best checkpoint by val CIDEr-D."""
    random.seed(cfg.seed); torch.manual_seed(cfg.seed)
    out = Path(cfg.out_dir); out.mkdir(parents=True, exist_ok=True)
    decoder, vocab, start_ckpt = load_checkpoint(cfg.start)
    _, train_data, val_data = prepared or prepare_data(TrainConfig.of_checkpoint(
        start_ckpt, data_dir=cfg.data_dir, cache_dir=cfg.cache_dir, limit=cfg.limit))
    cider = CorpusCider(train_data.references)
    banned = never_said(vocab)
    # Dropout stays off: the policy that is rewarded is then the one the assistant runs.
    decoder.eval()
    if getattr(decoder, "top", None) is not None:
        # A tuned encoder top stays as cross-entropy left it: the sampled reward is too noisy a signal for it.
        decoder.top.requires_grad_(False)
    optimizer = torch.optim.Adam([p for p in decoder.parameters() if p.requires_grad], lr=cfg.lr)
    averaged = AveragedModel(decoder, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema)) if cfg.ema else None
    scored = averaged.module if averaged else decoder
    meta = dict(encoder_name=start_ckpt.encoder_name, grid=start_ckpt.grid)
    last_path, best_path = out / "last.pt", out / "best.pt"
    start_epoch, bad, history = 1, 0, []
    if cfg.resume and last_path.exists():
        state = read_checkpoint(last_path).training
        decoder.load_state_dict(state["raw_decoder"])
        if averaged and state.get("averaged"):
            averaged.load_state_dict(state["averaged"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, best, bad, history = state["epoch"] + 1, state["best"], state["bad"], state["history"]
        log(f"resuming after epoch {start_epoch - 1} (best val CIDEr-D {best * 100:.1f})")
    else:
        best = val_scores(scored, vocab, val_data.features.float(), val_data.references, cfg.val_beam)["val_cider"]
        log(f"start: val CIDEr-D {best * 100:.1f} (cross-entropy checkpoint {cfg.start})")

    meteor = CorpusMeteor(train_data.references) if cfg.meteor_weight else None
    false = FalseSubjects(train_data.references) if cfg.false_penalty else None
    reward_name = "CIDEr-D" + (f" + {cfg.meteor_weight:g} METEOR" if meteor else "") + \
        (f" - {cfg.false_penalty:g} x false subject" if false else "")
    try:
        began = time.time()
        for epoch in range(start_epoch, cfg.epochs + 1):
            t0, losses, rewards_seen = time.time(), [], []
            batches = torch.randperm(len(train_data)).split(cfg.batch_images)
            for images in tqdm(batches, desc=f"scst epoch {epoch}", unit="batch", leave=False):
                features = train_data.features[images].float()
                ids, logps, mask = sample(decoder, features, cfg.samples, vocab.start, vocab.end, vocab.pad,
                                          banned, cfg.max_length)
                rows = images.repeat_interleave(cfg.samples).tolist()                           # (B,) as sampled
                captions = words_of(ids, vocab)
                rewards = cider.scores(captions, rows)                                          # (B,)
                if meteor:
                    rewards = rewards + cfg.meteor_weight * meteor.scores(captions, rows)
                if false:
                    rewards = rewards - cfg.false_penalty * false.scores(captions, rows)
                rewards = torch.from_numpy(rewards).float()
                loss = self_critical_loss(logps, mask, rewards, cfg.samples)
                if cfg.xe_weight:
                    loss = loss + cfg.xe_weight * teacher_forced_loss(decoder, *train_data.batch(images), alpha_c=0.0)
                take_step(loss, decoder, optimizer, cfg.clip, averaged)
                losses.append(loss.item()); rewards_seen.append(rewards.mean().item())
            scores = val_scores(scored, vocab, val_data.features.float(), val_data.references, cfg.val_beam)
            entry = {"epoch": epoch, "loss": float(np.mean(losses)), "reward": float(np.mean(rewards_seen)),
                     **scores, "seconds": round(time.time() - t0, 1)}
            history.append(entry)
            append_log(out, entry)
            log(f"scst epoch {epoch:3d}  reward (train {reward_name}) {entry['reward'] * 100:.1f}  val CIDEr-D "
                f"{scores['val_cider'] * 100:.1f}  val BLEU-4 {scores['val_bleu4'] * 100:.2f}  {entry['seconds']:.0f}s")
            improved = scores["val_cider"] > best
            best, bad = (scores["val_cider"], 0) if improved else (best, bad + 1)
            trained = {**start_ckpt.trained, "scst": {"epoch": epoch, **scores, "config": asdict(cfg)}}
            if improved:
                save_checkpoint(best_path, scored, vocab, **meta, trained=trained)
            save_checkpoint(last_path, scored, vocab, **meta, trained=trained, training={
                "raw_decoder": decoder.state_dict(), "averaged": averaged.state_dict() if averaged else None,
                "epoch": epoch, "best": best, "bad": bad, "history": history, "optimizer": optimizer.state_dict()})
            if time_to_stop(bad, cfg.patience, began, cfg.max_minutes, "val CIDEr-D", log):
                break
        if not best_path.exists():      # no epoch beat the start: the start is the best there is
            decoder_start, _, _ = load_checkpoint(cfg.start)
            save_checkpoint(best_path, decoder_start, vocab, **meta, trained={
                **start_ckpt.trained, "scst": {"epoch": 0, "val_cider": best, "config": asdict(cfg),
                                               "note": "no self-critical epoch beat the start on val"}})
        return best_path
    finally:        # the Java process ends with the stage, however it ends
        if meteor:
            meteor.close()
