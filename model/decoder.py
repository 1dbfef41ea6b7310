"""Show, Attend and Tell decoder: an LSTM with soft attention over image regions.

Both decoders expose the same calls; training and search use the first two, beam search the third:
  init_state(features, rows) -> state   (a tuple of tensors, batch first)
  step(state, words) -> (logits, state, alpha or None)
  reorder_beams(state, origin) -> state  (row i continues row origin[i])
`rows` picks which image each sequence belongs to, so per-image work is done
once even when an image has five captions or three beams.

Shapes, by letter: B rows (sequences: images x captions, or images x beams),
R image regions (grid x grid), C encoder channels, D projected feature size,
A attention size, E word-embedding size, H LSTM hidden size, V vocabulary."""
from dataclasses import asdict, dataclass

import torch
from torch import nn

from model.tuned_top import TunedTop


@dataclass(frozen=True)
class DecoderConfig:
    """A decoder's hyper-parameters; saved in the checkpoint as they are."""
    kind: str = "attention"       # "attention" (Show, Attend and Tell) or "show_and_tell" (the baseline)
    vocab_size: int = 0
    encoder_dim: int = 1280       # C
    embed_dim: int = 256          # E
    hidden_dim: int = 512         # H
    feature_dim: int = 512        # D (attention only)
    attention_dim: int = 256      # A (attention only)
    dropout: float = 0.5
    top_of: str = ""              # an encoder's name: the decoder owns a fine-tuned copy of its top (attention only)
    sentinel: bool = False        # adaptive attention (Lu et al. 2017): attend after the LSTM, with a visual sentinel
                                  # the word can take instead of the image (attention only; needs H == D)
    concepts: str = ""            # an encoder's name: its ImageNet head's class probabilities start the LSTM beside
                                  # the image (LSTM-A, Yao et al. 2017; attention only)

    # The baseline's paper sizes differ from the attention model's.
    KIND_DEFAULTS = {"attention": {}, "show_and_tell": {"embed_dim": 512}}

    @classmethod
    def for_kind(cls, kind: str, **overrides) -> "DecoderConfig":
        if kind not in cls.KIND_DEFAULTS:
            raise ValueError(f"unknown decoder {kind!r}; known: {', '.join(cls.KIND_DEFAULTS)}")
        return cls(kind=kind, **{**cls.KIND_DEFAULTS[kind], **overrides})

    def saved(self) -> dict:
        return asdict(self)


class SoftAttention(nn.Module):
    """Additive attention MLP: alpha_i = softmax(w . tanh(W_f f_i + W_h h))."""

    def __init__(self, feature_dim: int, hidden_dim: int, attention_dim: int):
        super().__init__()
        self.feat = nn.Linear(feature_dim, attention_dim)
        self.hid = nn.Linear(hidden_dim, attention_dim)
        self.score = nn.Linear(attention_dim, 1)

    def forward(self, feat_att, features, h):
        """feat_att (B, R, A), features (B, R, D), h (B, H) -> context (B, D), alpha (B, R)."""
        e = self.score(torch.tanh(feat_att + self.hid(h).unsqueeze(1))).squeeze(2)   # (B, R)
        alpha = torch.softmax(e, dim=1)                                              # (B, R), sums to 1
        # A batched matrix product, not (alpha * features).sum(1): no (B, R, D) temporary.
        return torch.bmm(alpha.unsqueeze(1), features).squeeze(1), alpha


class Sentinel(nn.Module):
    """Adaptive attention's visual sentinel (Lu et al. 2017, "Knowing When to Look").

    The LSTM's memory, gated by its input, is one more place to attend: a word like "a" or "of" can be
    written from the language model alone instead of from whatever region the attention lands on.
    beta, the sentinel's share, is the weight it wins in one softmax with the image's regions."""

    def __init__(self, input_dim: int, hidden_dim: int, attention_dim: int):
        super().__init__()
        self.gate = nn.Linear(input_dim + hidden_dim, hidden_dim)   # g_t = sigmoid(W_x x_t + W_h h_{t-1})
        self.key = nn.Linear(hidden_dim, attention_dim)             # W_s s_t, scored like a region's W_f f_i

    def forward(self, x, h_before, c):
        """x (B, input) the LSTM's input, h_before (B, H) its hidden state before, c (B, H) its new memory
        -> the sentinel s_t = g_t * tanh(c_t) (B, H)."""
        return torch.sigmoid(self.gate(torch.cat([x, h_before], 1))) * torch.tanh(c)


class ConceptInput(nn.Module):
    """LSTM-A's attributes (Yao et al. 2017, "Boosting Image Captioning with Attributes"): the ImageNet head's 1,000
    class probabilities, the concepts grounding already reads, start the LSTM beside the image.

    They come from a frozen copy of the encoder's pretrained top and head, never trained here: a tuned top drifts
    from the features the head was trained on, and what the head knows comes from 1.2 million ImageNet images,
    not Flickr8k's 6,000. Without a tuned top the features are the pretrained top's already."""

    CLASSES = 1000

    def __init__(self, encoder_name: str, below_top: bool, encoder_dim: int, hidden_dim: int):
        super().__init__()
        self.top = TunedTop(encoder_name) if below_top else None
        self.head = nn.Linear(encoder_dim, self.CLASSES)
        self.requires_grad_(False)
        self.to_h = nn.Linear(self.CLASSES, hidden_dim)
        self.to_c = nn.Linear(self.CLASSES, hidden_dim)

    @torch.no_grad()
    def start_from(self, encoder) -> "ConceptInput":
        """Copy a folded (for_inference) encoder's pretrained top, where it is below it, and its ImageNet head."""
        if self.top is not None:
            self.top.start_from(encoder)        # copies weights only: they stay frozen as __init__ left them
        self.head.load_state_dict(encoder.cnn.classifier.state_dict())
        return self

    def probabilities(self, encoder_out: torch.Tensor) -> torch.Tensor:
        """(N, R, c or C) the encoder's features, as cached -> (N, 1000), as Encoder.classify gives them."""
        own = self.top(encoder_out) if self.top is not None else encoder_out
        return torch.softmax(self.head(own.mean(1)), 1)

    def forward(self, encoder_out: torch.Tensor):
        """-> what the concepts add to the LSTM's first hidden state and memory, (N, H) each."""
        p = self.probabilities(encoder_out)
        return self.to_h(p), self.to_c(p)


class AttentionDecoder(nn.Module):
    kind = "attention"

    def __init__(self, config: DecoderConfig):
        super().__init__()
        self.config = c = config
        # The CNN's C channels are brought to D (VGG's conv5 width in the paper) once per image,
        # which makes every word's attention cheaper on a CPU.
        self.project = nn.Sequential(nn.Linear(c.encoder_dim, c.feature_dim), nn.ReLU())
        self.attention = SoftAttention(c.feature_dim, c.hidden_dim, c.attention_dim)
        self.init_h = nn.Linear(c.feature_dim, c.hidden_dim)
        self.init_c = nn.Linear(c.feature_dim, c.hidden_dim)
        if c.sentinel:
            if c.hidden_dim != c.feature_dim:
                raise ValueError("the visual sentinel is mixed with the regions' context: hidden_dim must equal "
                                 f"feature_dim, not {c.hidden_dim} and {c.feature_dim}")
            self.sentinel = Sentinel(c.embed_dim + c.feature_dim, c.hidden_dim, c.attention_dim)
        else:
            self.gate = nn.Linear(c.hidden_dim, c.feature_dim)    # beta: how much of the context to let in
        self.embed = nn.Embedding(c.vocab_size, c.embed_dim)
        # Its input is the word and the attended context, or with the sentinel the word and the mean image.
        self.lstm = nn.LSTMCell(c.embed_dim + c.feature_dim, c.hidden_dim)
        # Deep output layer (paper eq. 7): L_o(E y + L_h h + L_z z).
        self.out_h = nn.Linear(c.hidden_dim, c.embed_dim)
        self.out_z = nn.Linear(c.feature_dim, c.embed_dim)
        self.out = nn.Linear(c.embed_dim, c.vocab_size)
        self.dropout = nn.Dropout(c.dropout)
        # With its own top, the decoder reads features from below the encoder's top (N, R, c) and makes the C channels.
        self.top = TunedTop(c.top_of) if c.top_of else None
        self.concepts = ConceptInput(c.concepts, bool(c.top_of), c.encoder_dim, c.hidden_dim) if c.concepts else None

    def init_state(self, encoder_out: torch.Tensor, rows: torch.Tensor | None = None):
        """encoder_out (N images, R, C); rows (B,) image of each row, or None for one row per image."""
        cached = encoder_out
        if self.top is not None:
            encoder_out = self.top(encoder_out)                    # (N, R, c) -> (N, R, C)
        features = self.dropout(self.project(encoder_out))         # (N, R, D)
        feat_att = self.attention.feat(features)                   # (N, R, A), reused at every word
        mean = features.mean(1)                                    # (N, D)
        h, c = self.init_h(mean), self.init_c(mean)                # (N, H) each
        if self.concepts is not None:
            concept_h, concept_c = self.concepts(cached)
            h, c = h + concept_h, c + concept_c
        h, c = torch.tanh(h), torch.tanh(c)
        state = (h, c, features, feat_att) + ((mean,) if self.config.sentinel else ())   # the LSTM's image input
        return state if rows is None else tuple(s[rows] for s in state)       # N -> B rows

    def step(self, state, words: torch.Tensor):
        """One word for every row: words (B,) -> logits (B, V), the new state, alpha (B, R)."""
        if self.config.sentinel:
            return self._adaptive_step(state, words)
        h, c, features, feat_att = state                           # (B, H), (B, H), (B, R, D), (B, R, A)
        context, alpha = self.attention(feat_att, features, h)     # (B, D), (B, R)
        context = torch.sigmoid(self.gate(h)) * context            # (B, D): beta-gated
        emb = self.embed(words)                                    # (B, E)
        h, c = self.lstm(torch.cat([emb, context], 1), (h, c))     # (B, H) each
        logits = self.out(self.dropout(emb + self.out_h(h) + self.out_z(context)))   # (B, E) -> (B, V)
        return logits, (h, c, features, feat_att), alpha

    def _adaptive_step(self, state, words: torch.Tensor):
        """Lu et al.'s order: the LSTM reads the word and the mean image, then attends with its new state over
        the regions and the sentinel; alpha (B, R) is the regions' share, which sums to 1 - beta."""
        h_before, c, features, feat_att, mean = state
        emb = self.embed(words)                                    # (B, E)
        x = torch.cat([emb, mean], 1)                              # (B, E + D)
        h, c = self.lstm(x, (h_before, c))                         # (B, H) each
        s = self.sentinel(x, h_before, c)                          # (B, H), H == D
        query = self.attention.hid(h).unsqueeze(1)                 # (B, 1, A)
        keys = torch.cat([feat_att, self.sentinel.key(s).unsqueeze(1)], 1)          # (B, R + 1, A)
        weights = torch.softmax(self.attention.score(torch.tanh(keys + query)).squeeze(2), dim=1)   # (B, R + 1)
        alpha, beta = weights[:, :-1], weights[:, -1:]             # (B, R), (B, 1)
        context = torch.bmm(alpha.unsqueeze(1), features).squeeze(1) + beta * s     # (B, D): c_hat
        logits = self.out(self.dropout(emb + self.out_h(h) + self.out_z(context)))
        return logits, (h, c, features, feat_att, mean), alpha

    def reorder_beams(self, state, origin: torch.Tensor):
        """A beam only ever continues a beam of its own image, and every beam of an image holds that image's
        features already: only the LSTM's memory moves, which spares beam search a copy of the features."""
        h, c, *image = state
        return h[origin], c[origin], *image


class ShowAndTellDecoder(nn.Module):
    """NIC baseline (Vinyals et al. 2015): the mean image feature is the LSTM's first input; no attention."""
    kind = "show_and_tell"

    def __init__(self, config: DecoderConfig):
        super().__init__()
        self.config = c = config
        self.image_embed = nn.Linear(c.encoder_dim, c.embed_dim)
        self.embed = nn.Embedding(c.vocab_size, c.embed_dim)
        self.lstm = nn.LSTMCell(c.embed_dim, c.hidden_dim)
        self.out = nn.Linear(c.hidden_dim, c.vocab_size)
        self.dropout = nn.Dropout(c.dropout)

    def init_state(self, encoder_out: torch.Tensor, rows: torch.Tensor | None = None):
        image = self.dropout(self.image_embed(encoder_out.mean(1)))   # (N, R, C) -> (N, E)
        h, c = self.lstm(image)                                        # (N, H) each
        state = (h, c)
        return state if rows is None else tuple(s[rows] for s in state)

    def step(self, state, words: torch.Tensor):
        """words (B,) -> logits (B, V), the new state, no attention."""
        h, c = self.lstm(self.dropout(self.embed(words)), state)   # (B, E) in, (B, H) each out
        return self.out(self.dropout(h)), (h, c), None

    def reorder_beams(self, state, origin: torch.Tensor):
        return tuple(s[origin] for s in state)


DECODERS = {cls.kind: cls for cls in (AttentionDecoder, ShowAndTellDecoder)}


def build_decoder(config: DecoderConfig) -> nn.Module:
    if config.kind not in DECODERS:
        raise ValueError(f"unknown decoder {config.kind!r}; known: {', '.join(DECODERS)}")
    if config.top_of and config.kind != "attention":
        raise ValueError(f"only the attention decoder can own the encoder's top, not {config.kind!r}")
    if config.concepts and config.kind != "attention":
        raise ValueError(f"only the attention decoder reads concept inputs, not {config.kind!r}")
    return DECODERS[config.kind](config)
