"""Greedy and batched beam search over any decoder with init_state/step; beam search can be
made to say one of some words (constrained beam search, for model/guided.py).

Each result is (word ids without <start>/<end>, mean log-probability per
emitted token including <end>, attention weights per word or None).

Shapes, by letter: N images, k beams per image, B rows (N in greedy, N*k in beam
search), T words so far, R image regions, V vocabulary."""
from dataclasses import dataclass

import torch


LENGTH_ALPHA = 0.75   # chosen on the val split (benchmarks/results/val_tuning.md)
NO_REPEAT = 3         # a caption may not say the same 3 words twice ("a brown dog is biting a brown dog"); 0: off


@dataclass
class Decoded:
    ids: list[int]
    score: float                   # mean log-probability per token (0 is certain)
    alphas: torch.Tensor | None    # (len(ids), R) attention per word, or None for the baseline


def _trim(ids, alphas, end: int):
    """Cut at the first <end>; the <end> token itself counts for the score, not for the words."""
    n = ids.index(end) if end in ids else len(ids)
    return ids[:n], (alphas[:n] if alphas is not None else None), min(n + 1, len(ids))


def never_said(vocab, device="cpu") -> torch.Tensor:
    """Tokens no caption may contain: <unk> would be spoken as "unk"; <start> and <pad> are not words."""
    return torch.tensor([vocab.unk, vocab.start, vocab.pad], device=device)


def _ban(logp: torch.Tensor, history: torch.Tensor, banned: torch.Tensor | None, nouns: torch.Tensor | None):
    """logp (B, V) with -inf for words never to be said (banned: <unk>, <start>, <pad>) and, when `nouns`
    ((V,) each word's noun group, -1 for none: model.concepts.noun_groups) is given, for every noun of a group
    the row has said already ("a motorcycle on a motorcycle", "a bike on a bicycle")."""
    if banned is not None:
        logp = logp.index_fill(1, banned, float("-inf"))
    if nouns is not None and history.size(1):
        # One slot per possible group (there are at most V), and slot 0 for "not a noun": no size read back
        # from the device at every step.
        said = torch.zeros(logp.size(0), nouns.numel() + 1, dtype=torch.bool, device=logp.device)
        said.scatter_(1, nouns[history] + 1, True)                                      # (B, groups)
        said[:, 0] = False
        logp = logp.masked_fill(said[:, nouns + 1], float("-inf"))
    return logp


def _block_repeats(logp: torch.Tensor, history: torch.Tensor, n: int) -> torch.Tensor:
    """logp with -inf for every word that would complete an n-gram already in that row's history."""
    if n <= 0 or history.size(1) < n:
        return logp
    grams = history.unfold(1, n, 1)                                      # (B, T-n+1, n)
    match = (grams[:, :, :-1] == history[:, None, -(n - 1):]).all(2)      # earlier n-1 words = the last n-1
    ban = torch.where(match, float("-inf"), 0.0).to(logp.dtype)
    return logp + torch.zeros_like(logp).scatter_add_(1, grams[:, :, -1], ban)


@torch.inference_mode()
def greedy(decoder, encoder_out: torch.Tensor, start: int, end: int, max_length: int = 20,
           no_repeat: int = NO_REPEAT, banned: torch.Tensor | None = None,
           nouns: torch.Tensor | None = None) -> list[Decoded]:
    """A caption that has said <end> leaves the batch, so the words after it are never computed."""
    batch, device = encoder_out.size(0), encoder_out.device
    state = decoder.init_state(encoder_out)
    live = torch.arange(batch, device=device)      # (B,) the images still writing, in state's order
    words = torch.full((batch,), start, dtype=torch.long, device=device)            # (B,)
    ids = torch.full((batch, max_length), end, dtype=torch.long, device=device)     # (N, max_length)
    logps = torch.zeros(batch, max_length, device=device)                           # (N, max_length)
    alphas = None
    for t in range(max_length):
        logits, state, alpha = decoder.step(state, words)                                # (B, V), (B, R)
        logp = _ban(torch.log_softmax(logits, 1), ids[live, :t], banned, nouns)
        logp, words = _block_repeats(logp, ids[live, :t], no_repeat).max(1)                # (B,)
        ids[live, t], logps[live, t] = words, logp
        if alpha is not None:
            if alphas is None:
                alphas = torch.zeros(batch, max_length, alpha.size(1), device=device)
            alphas[live, t] = alpha
        going = words != end
        if not going.any():
            break
        if not going.all():
            live, words = live[going], words[going]
            state = tuple(s[going] for s in state)
    steps = t + 1
    ids, att = ids[:, :steps].tolist(), (alphas[:, :steps].cpu() if alphas is not None else None)
    out = []
    for b in range(batch):
        words_b, att_b, n = _trim(ids[b], att[b] if att is not None else None, end)
        out.append(Decoded(words_b, logps[b, :n].mean().item(), att_b))
    return out


@torch.inference_mode()
def beam_search(decoder, encoder_out: torch.Tensor, start: int, end: int, beam: int = 3,
                max_length: int = 20, length_alpha: float = LENGTH_ALPHA, no_repeat: int = NO_REPEAT,
                banned: torch.Tensor | None = None, nouns: torch.Tensor | None = None,
                required: torch.Tensor | None = None) -> list[Decoded | None]:
    """All images and all their beams advance together as one batch of rows.

    A finished hypothesis is frozen: it may only emit <pad> at no cost, so it keeps
    its score and never grows a second <end>. An image whose beams have all finished
    is settled at once and leaves the batch, so the others do not carry it. Hypotheses
    are ranked by total log-probability / length**length_alpha (0: plain sum, which
    favours short captions; 1: the mean log-probability we report).

    `required` (N, V) bool makes each caption say one of its image's marked words: constrained beam
    search (Anderson et al. 2017) with one constraint, so two banks of k beams per image, those that have
    not said a marked word yet and those that have; a word moves a hypothesis from the first bank to the
    second. Only the second bank's hypotheses are answers; an image whose second bank never finishes a
    caption within max_length gets None."""
    batch, device = encoder_out.size(0), encoder_out.device
    banks = 1 if required is None else 2
    width = banks * beam                                                                 # rows per image
    rows = torch.arange(batch, device=device).repeat_interleave(width)                  # (B = N*width,)
    state = decoder.init_state(encoder_out, rows)
    images = torch.arange(batch, device=device)     # (N,) which image each block of rows is, in state's order
    words = torch.full((batch * width,), start, dtype=torch.long, device=device)       # (B,)
    # Only the first copy of each image is live at the start, or all k beams would be the same.
    total = torch.full((batch, width), float("-inf"), device=device)                    # (N, width)
    total[:, 0] = 0.0
    length = torch.zeros(batch * width, device=device)                                  # (B,)
    finished = torch.zeros(batch * width, dtype=torch.bool, device=device)              # (B,)
    history = torch.zeros(batch * width, 0, dtype=torch.long, device=device)            # (B, T)
    second = (torch.arange(width, device=device) >= beam).view(1, width, 1)             # rows of the second bank
    answers = slice(width - beam, width)                  # the bank whose hypotheses may be answers
    att_history = None
    pad = 0
    out: list[Decoded | None] = [None] * batch

    def settle(which: torch.Tensor) -> None:
        """Pick the best hypothesis of each image in `which` (a mask over the images still in the batch)."""
        totals = total[which][:, answers]
        lengths = length.view(-1, width)[which][:, answers].clamp(min=1)
        mean, top = totals / lengths, (totals / lengths.pow(length_alpha)).argmax(1).tolist()
        for j, (i, b) in enumerate(zip(which.nonzero().view(-1).tolist(), images[which].tolist())):
            if totals[j, top[j]] == float("-inf"):
                continue                                  # no caption said a required word
            r = i * width + answers.start + top[j]
            att = att_history[r].cpu() if att_history is not None else None
            words_b, att_b, _ = _trim(history[r].tolist(), att, end)
            out[b] = Decoded(words_b, mean[j, top[j]].item(), att_b)

    for _ in range(max_length):
        n = images.numel()
        logits, state, alpha = decoder.step(state, words)                      # (B, V), (B, R)
        logp = _block_repeats(_ban(torch.log_softmax(logits, 1), history, banned, nouns), history, no_repeat)
        vocab = logp.size(1)
        frozen = torch.full_like(logp, float("-inf"))
        frozen[:, pad] = 0.0
        logp = torch.where(finished.unsqueeze(1), frozen, logp)
        candidates = (total.view(-1, 1) + logp).view(n, width, vocab)            # every extension
        grown = length + (~finished).float()                                      # (B,) once extended
        penalty = grown.clamp(min=1).pow(length_alpha).view(n, width, 1)         # the same for every word
        if required is None:
            best = (candidates / penalty).view(n, -1).topk(beam, 1)[1]           # (N, k)
            total = candidates.view(n, -1).gather(1, best)                        # (N, k)
        else:
            said = required[images].unsqueeze(1) & ~finished.view(n, width, 1)   # (N, width, V): says one now
            # What each bank may not take: the first, anything that has said a word; the second, anything that
            # has not. Totals come from the masked scores, so a bank with too few may keep -inf (dead) rows.
            picks = []
            for excluded in (second | said, ~second & ~said):
                allowed = candidates.masked_fill(excluded, float("-inf"))                  # (N, width, V)
                chosen = (allowed / penalty).view(n, -1).topk(beam, 1)[1]
                picks.append((chosen, allowed.view(n, -1).gather(1, chosen)))
            best, total = (torch.cat(part, 1) for part in zip(*picks))            # (N, width) each
        origin = (best // vocab + torch.arange(n, device=device).unsqueeze(1) * width).view(-1)   # parent row
        words = (best % vocab).view(-1)                                           # (B,)
        length = grown[origin]
        finished = finished[origin] | (words == end)
        history = torch.cat([history[origin], words.unsqueeze(1)], 1)
        if alpha is not None:
            att_history = torch.cat([att_history[origin], alpha[origin].unsqueeze(1)], 1) \
                if att_history is not None else alpha[origin].unsqueeze(1)
        state = decoder.reorder_beams(state, origin)
        # An image is settled once its answer bank has a caption and nothing there is still being written.
        ended = (finished | torch.isinf(total.view(-1))).view(n, width)[:, answers]
        done = ended.all(1) & torch.isfinite(total[:, answers]).any(1)
        if done.any():
            settle(done)
            if done.all():
                break
            going, keep = ~done, (~done).repeat_interleave(width)
            images, total = images[going], total[going]
            words, length, finished, history = words[keep], length[keep], finished[keep], history[keep]
            att_history = att_history[keep] if att_history is not None else None
            state = tuple(s[keep] for s in state)
    else:
        settle(torch.ones(images.numel(), dtype=torch.bool, device=device))
    return out


def decode(decoder, encoder_out: torch.Tensor, start: int, end: int, beam: int = 3,
           max_length: int = 20, no_repeat: int = NO_REPEAT, banned=None, nouns=None,
           required=None) -> list[Decoded | None]:
    """Greedy for beam 1 (same result, less work), batched beam search otherwise, and always when some words
    are required (then an image may get None: see beam_search)."""
    if beam == 1 and required is None:
        return greedy(decoder, encoder_out, start, end, max_length, no_repeat=no_repeat, banned=banned, nouns=nouns)
    return beam_search(decoder, encoder_out, start, end, beam, max_length, no_repeat=no_repeat, banned=banned,
                       nouns=nouns, required=required)


@torch.inference_mode()
def scored(decoder, encoder_out: torch.Tensor, captions: list[list[int]], start: int, end: int) -> list[float]:
    """How likely the decoder finds given captions of their images (teacher-forced): for each (word ids without
    <start>/<end>) its mean log-probability per token including <end>, the same score search gives what it
    finds. encoder_out: (N, R, C), one image per caption."""
    if not captions:
        return []
    device = encoder_out.device
    lengths = torch.tensor([len(c) + 1 for c in captions], device=device)                  # (N,) with <end>
    targets = torch.full((len(captions), int(lengths.max())), end, dtype=torch.long, device=device)
    for i, c in enumerate(captions):
        targets[i, :len(c)] = torch.tensor(c, dtype=torch.long, device=device)
    state = decoder.init_state(encoder_out)
    words = torch.full((len(captions),), start, dtype=torch.long, device=device)
    total = torch.zeros(len(captions), device=device)
    for t in range(targets.size(1)):
        logits, state, _ = decoder.step(state, words)
        logp = torch.log_softmax(logits, 1).gather(1, targets[:, t:t + 1]).squeeze(1)       # (N,)
        total += torch.where(t < lengths, logp, torch.zeros_like(logp))
        words = targets[:, t]
    return (total / lengths).tolist()
