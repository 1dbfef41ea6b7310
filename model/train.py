"""Decoder training on cached encoder features: Adam, cross-entropy, gradient
clipping, learning-rate decay on plateau and early stopping on val BLEU-4.

Val scoring, selection and the saved weights use an exponential moving average of
the decoder's weights: val BLEU-4 of the raw weights jumps by half a point from one
epoch to the next, and the average smooths that noise out of the shipped model.

Each batch holds B images with all their captions; per-image work (feature
projection, attention keys) is done once and shared by the five captions."""
import json
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from model.checkpoint import read_checkpoint, save_checkpoint
from model.data import DEFAULT_DATA, load_captions, split
from model.decoder import DecoderConfig, build_decoder
from model.encoder import Encoder
from model.features import DEFAULT_CACHE, cached_features
from model.metrics import bleu4
from model.search import decode
from model.vocabulary import Vocabulary

PROJECT = Path(__file__).resolve().parents[1]


@dataclass
class TrainConfig:
    decoder: str = "attention"
    encoder: str = "efficientnet_lite2"
    grid: int = 9
    data_dir: str = str(DEFAULT_DATA)
    cache_dir: str = str(DEFAULT_CACHE)
    out_dir: str = str(PROJECT / "runs" / "attention")
    epochs: int = 30
    batch_images: int = 32
    lr: float = 5e-4
    min_freq: int = 5
    alpha_c: float = 1.0          # weight of the doubly stochastic attention penalty
    clip: float = 5.0
    patience: int = 4             # epochs without a better val BLEU-4 before stopping
    val_beam: int = 3             # val BLEU-4 (selection, LR decay, early stopping) decoded as the assistant does
    ema: float = 0.997            # weight average kept per step (horizon ~330 steps, ~2 epochs); 0: raw weights
    max_minutes: float = 0.0      # 0: no time limit
    limit: int = 0                # >0: only this many train and val images (quick runs, tests)
    seed: int = 0
    resume: bool = False
    decoder_hparams: dict = field(default_factory=dict)   # DecoderConfig fields to change (sizes, dropout)
    held_out: tuple[str, ...] = ()  # concepts never seen in training: images whose captions name one are left out
    contrastive_epochs: int = 0   # >0: first pretrain the image side against caption sentence embeddings (seed 004)
    tune_top: bool = False        # fine-tune the encoder's top (last stage, head convolution) with the decoder
    top_lr: float = 1e-4          # its learning rate: pretrained layers move slower than the new decoder

    @classmethod
    def of_checkpoint(cls, ckpt, **overrides) -> "TrainConfig":
        """The data a checkpoint was trained on: its encoder and which of its features, its held-out concepts."""
        held_out = tuple((ckpt.trained.get("config") or {}).get("held_out") or ())
        return cls(encoder=ckpt.encoder_name, grid=ckpt.grid, tune_top=bool(ckpt.decoder.top_of), held_out=held_out,
                   **overrides)


class CaptionData:
    """Features and encoded captions of one split, held in memory for fast epochs."""

    def __init__(self, features: np.ndarray, records: list[dict], vocab: Vocabulary):
        self.features = torch.from_numpy(np.array(features))      # float16 (N, R, C), a private copy
        self.captions = [[torch.tensor(vocab.encode(c)) for c in r["captions"]] for r in records]
        self.references = [r["captions"] for r in records]

    def __len__(self):
        return len(self.captions)

    def batch(self, images: torch.Tensor):
        """Features of the chosen images and their captions, sorted longest first (for packing)."""
        pairs = [(row, cap) for row, i in enumerate(images.tolist()) for cap in self.captions[i]]
        pairs.sort(key=lambda p: -len(p[1]))
        rows = torch.tensor([p[0] for p in pairs])
        lengths = torch.tensor([len(p[1]) for p in pairs])
        caps = nn.utils.rnn.pad_sequence([p[1] for p in pairs], batch_first=True)
        return self.features[images].float(), rows, caps, lengths


def teacher_forced_loss(decoder, features, rows, caps, lengths, alpha_c: float):
    """Cross-entropy over packed (length-sorted) sequences, plus lambda * sum_i (1 - sum_t alpha_ti)^2.

    features (N images, R, C); rows (B,) image of each caption; caps (B, T) word ids, longest first;
    lengths (B,). Packed, step t runs only the n_t captions still longer than t."""
    state = decoder.init_state(features, rows)
    steps = lengths - 1                                  # (B,) predict every token after <start>
    logits, alpha_sum = [], None
    for t in range(int(steps[0])):
        n = int((steps > t).sum())                       # n_t sequences still running at step t
        state = tuple(s[:n] for s in state)
        out, state, alpha = decoder.step(state, caps[:n, t])      # (n_t, V), (n_t, R)
        logits.append(out)
        if alpha is not None:
            padded = nn.functional.pad(alpha, (0, 0, 0, len(rows) - n))      # (B, R)
            alpha_sum = padded if alpha_sum is None else alpha_sum + padded
    targets = pack_padded_sequence(caps[:, 1:], steps, batch_first=True).data   # (sum n_t,), matches the logits
    loss = nn.functional.cross_entropy(torch.cat(logits), targets)
    if alpha_sum is not None and alpha_c > 0:
        loss = loss + alpha_c * ((1.0 - alpha_sum) ** 2).mean()
    return loss


def take_step(loss, decoder, optimizer, clip: float, averaged) -> None:
    """One optimiser step with gradient clipping; the weight average follows it."""
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(decoder.parameters(), clip)
    optimizer.step()
    if averaged:
        averaged.update_parameters(decoder)


def time_to_stop(bad: int, patience: int, began: float, max_minutes: float, measure: str, log) -> bool:
    """After an epoch: stop when the val measure has not improved for `patience` epochs, or time is up."""
    if bad >= patience:
        log(f"stopping: {measure} has not improved for {bad} epochs")
        return True
    if max_minutes and (time.time() - began) / 60 > max_minutes:
        log(f"stopping: time limit of {max_minutes} minutes reached")
        return True
    return False


def append_log(out: Path, entry: dict) -> None:
    with open(out / "log.jsonl", "a") as f:
        f.write(json.dumps(entry) + "\n")


def validate(decoder, data: CaptionData, vocab: Vocabulary, beam: int = 3, chunk: int = 250) -> float:
    decoder.eval()
    hyps = []
    for i in range(0, len(data), chunk):
        feats = data.features[i:i + chunk].float()
        hyps += [vocab.decode(d.ids) for d in decode(decoder, feats, vocab.start, vocab.end, beam)]
    decoder.train()
    return bleu4(hyps, data.references)


def prepare_data(cfg: TrainConfig, names_for_cache=None):
    """(vocabulary, train data, val data) with encoder features from the cache (computed if missing).

    By default the cache covers every image of the data set, so training, evaluation and
    later runs share one file; a --limit run caches only the images it uses."""
    records = load_captions(cfg.data_dir)
    train_recs, val_recs = split(records, "train"), split(records, "val")
    if cfg.held_out:          # the novel-object protocol (DCC, NOC): these concepts are never seen in training
        from model.concepts import mentions
        train_recs = [r for r in train_recs if not any(mentions(c, cfg.held_out) for c in r["captions"])]
        val_recs = [r for r in val_recs if not any(mentions(c, cfg.held_out) for c in r["captions"])]
    if cfg.limit:
        train_recs, val_recs = train_recs[:cfg.limit], val_recs[:cfg.limit]
    vocab = Vocabulary.build((c for r in train_recs for c in r["captions"]), cfg.min_freq)
    names = names_for_cache or [r["image"] for r in (records if not cfg.limit else train_recs + val_recs)]
    encoder = Encoder(cfg.encoder, cfg.grid, before_top=cfg.tune_top)
    feats = cached_features(encoder, Path(cfg.data_dir) / "images", names, cfg.cache_dir)
    row = {n: i for i, n in enumerate(names)}

    def data(recs):
        recs = sorted(recs, key=lambda r: row[r["image"]])
        return CaptionData(feats[[row[r["image"]] for r in recs]], recs, vocab)

    return vocab, data(train_recs), data(val_recs)


def caption_vectors(data: CaptionData, cache_dir: str) -> np.ndarray:
    """(images, 5, S) sentence embeddings of each image's captions (every Flickr8k image has five)."""
    from model.sentences import cached_embeddings
    fives = [(refs * 5)[:5] for refs in data.references]
    flat = cached_embeddings([c for refs in fives for c in refs], cache_dir)
    return flat.reshape(len(fives), 5, -1)


def contrastive_stage(decoder, train_data: CaptionData, val_data: CaptionData, cfg: TrainConfig, log) -> list[dict]:
    from model.contrastive import ContrastiveConfig, pretrain_image_side
    t0 = time.time()
    entries = pretrain_image_side(decoder, train_data.features, caption_vectors(train_data, cfg.cache_dir),
                                  ContrastiveConfig(epochs=cfg.contrastive_epochs),
                                  val=(val_data.features, caption_vectors(val_data, cfg.cache_dir)), log=log)
    log(f"contrastive stage: {(time.time() - t0) / 60:.1f} min, sentence embeddings included")
    return [{"stage": "contrastive", **e} for e in entries]


def new_decoder(cfg: TrainConfig, vocab: Vocabulary, train_data: CaptionData):
    """A decoder to train; with tune_top it owns a copy of the encoder's pretrained top to fine-tune, and with
    concept inputs a frozen copy of that top and the ImageNet head to read the concepts from."""
    concepts = cfg.decoder_hparams.get("concepts")
    encoder = Encoder(cfg.encoder, cfg.grid).for_inference() if cfg.tune_top or concepts else None
    if cfg.tune_top:
        decoder = build_decoder(DecoderConfig.for_kind(cfg.decoder, vocab_size=len(vocab), top_of=cfg.encoder,
                                                       encoder_dim=encoder.channels, **cfg.decoder_hparams))
        decoder.top.start_from(encoder)
    else:
        decoder = build_decoder(DecoderConfig.for_kind(cfg.decoder, vocab_size=len(vocab),
                                                       encoder_dim=train_data.features.shape[2], **cfg.decoder_hparams))
    if concepts:
        decoder.concepts.start_from(encoder)
    return decoder


def parameter_groups(decoder, cfg: TrainConfig) -> list[dict]:
    """The decoder's own weights first (their rate is the one logged), then a tuned top's at top_lr."""
    top = getattr(decoder, "top", None)
    if top is None:
        return [{"params": list(decoder.parameters())}]
    mine = {id(p) for p in top.parameters()}
    return [{"params": [p for p in decoder.parameters() if id(p) not in mine]},
            {"params": [p for p in top.parameters() if p.requires_grad], "lr": cfg.top_lr}]


def train(cfg: TrainConfig, log=print, prepared=None) -> Path:
    """Train one decoder; returns the path of the best checkpoint (by val BLEU-4)."""
    random.seed(cfg.seed); torch.manual_seed(cfg.seed)
    out = Path(cfg.out_dir); out.mkdir(parents=True, exist_ok=True)
    vocab, train_data, val_data = prepared or prepare_data(cfg)
    decoder = new_decoder(cfg, vocab, train_data)
    optimizer = torch.optim.Adam(parameter_groups(decoder, cfg), lr=cfg.lr)
    # The averaged copy is what gets validated and saved; the raw decoder is what learns.
    averaged = AveragedModel(decoder, multi_avg_fn=get_ema_multi_avg_fn(cfg.ema)) if cfg.ema else None
    scored = averaged.module if averaged else decoder
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=1)
    start_epoch, best, bad, history = 1, -1.0, 0, []
    last_path, best_path = out / "last.pt", out / "best.pt"
    if cfg.contrastive_epochs and not (cfg.resume and last_path.exists()):   # a resumed run has it in its weights
        history += contrastive_stage(decoder, train_data, val_data, cfg, log)
    if cfg.resume and last_path.exists():
        ckpt = read_checkpoint(last_path)
        if ckpt.vocabulary != vocab.to_json():
            raise RuntimeError(f"{last_path} was trained on another vocabulary; cannot resume it.")
        state = ckpt.training
        decoder.load_state_dict(state.get("raw_decoder") or ckpt.state_dict)
        if averaged and state.get("averaged"):   # a run saved without the average starts one now
            averaged.load_state_dict(state["averaged"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch, best, bad, history = state["epoch"] + 1, state["best"], state["bad"], state["history"]
        log(f"resuming after epoch {start_epoch - 1} (best val BLEU-4 {best:.4f})")

    # The doubly stochastic penalty asks every region for a whole word's attention over the caption; with a
    # sentinel it would push beta to 0, so adaptive attention trains without it, as Lu et al. do.
    alpha_c = 0.0 if getattr(decoder.config, "sentinel", False) else cfg.alpha_c
    began = time.time()
    decoder.train()
    for epoch in range(start_epoch, cfg.epochs + 1):
        t0, losses = time.time(), []
        batches = torch.randperm(len(train_data)).split(cfg.batch_images)
        for images in tqdm(batches, desc=f"epoch {epoch}", unit="batch", leave=False):
            loss = teacher_forced_loss(decoder, *train_data.batch(images), alpha_c)
            take_step(loss, decoder, optimizer, cfg.clip, averaged)
            losses.append(loss.item())
        score = validate(scored, val_data, vocab, cfg.val_beam)
        scheduler.step(score)
        entry = {"epoch": epoch, "loss": float(np.mean(losses)), "val_bleu4": score,
                 "lr": optimizer.param_groups[0]["lr"], "seconds": round(time.time() - t0, 1)}
        history.append(entry)
        append_log(out, entry)
        log(f"epoch {epoch:3d}  loss {entry['loss']:.4f}  val BLEU-4 {score * 100:.2f}  "
            f"lr {entry['lr']:.2e}  {entry['seconds']:.0f}s")
        improved = score > best
        best, bad = (score, 0) if improved else (best, bad + 1)
        meta = dict(encoder_name=cfg.encoder, grid=cfg.grid)
        if improved:
            save_checkpoint(best_path, scored, vocab, **meta, trained={"epoch": epoch, "val_bleu4": score,
                                                                         "config": asdict(cfg)})
        save_checkpoint(last_path, scored, vocab, **meta, training={
            "raw_decoder": decoder.state_dict(), "averaged": averaged.state_dict() if averaged else None,
            "epoch": epoch, "best": best, "bad": bad, "history": history,
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()})
        if time_to_stop(bad, cfg.patience, began, cfg.max_minutes, "val BLEU-4", log):
            break
    return best_path
