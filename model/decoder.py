"""Show, Attend and Tell decoder: an LSTM with soft attention over image regions.

Both decoders expose the same calls; training and search use the first two, beam search the third:
  init_state(features, rows) -> state   (a tuple of tensors, batch first)
  step(state, words) -> (logits, state, alpha or None)
  reorder_beams(state, origin) -> state  (row i continues row origin[i])
`rows` picks which image each sequence belongs to, so per-image work is done
once even when an image has five captions or three beams."""
import torch
from torch import nn


class SoftAttention(nn.Module):
    """Additive attention MLP: alpha_i = softmax(w . tanh(W_f f_i + W_h h))."""

    def __init__(self, feature_dim: int, hidden_dim: int, attention_dim: int):
        super().__init__()
        self.feat = nn.Linear(feature_dim, attention_dim)
        self.hid = nn.Linear(hidden_dim, attention_dim)
        self.score = nn.Linear(attention_dim, 1)

    def forward(self, feat_att, features, h):
        e = self.score(torch.tanh(feat_att + self.hid(h).unsqueeze(1))).squeeze(2)   # (N, R)
        alpha = torch.softmax(e, dim=1)
        # A batched matrix product, not (alpha * features).sum(1): no (N, R, D) temporary.
        return torch.bmm(alpha.unsqueeze(1), features).squeeze(1), alpha


class AttentionDecoder(nn.Module):
    kind = "attention"

    def __init__(self, vocab_size: int, encoder_dim: int = 1280, feature_dim: int = 512, embed_dim: int = 256,
                 hidden_dim: int = 512, attention_dim: int = 256, dropout: float = 0.5):
        super().__init__()
        self.hparams = dict(vocab_size=vocab_size, encoder_dim=encoder_dim, feature_dim=feature_dim,
                            embed_dim=embed_dim, hidden_dim=hidden_dim, attention_dim=attention_dim, dropout=dropout)
        # The CNN's 1280 channels are brought to D=512 (VGG's conv5 width in the paper) once per image,
        # which halves the per-word cost on a CPU.
        self.project = nn.Sequential(nn.Linear(encoder_dim, feature_dim), nn.ReLU())
        self.attention = SoftAttention(feature_dim, hidden_dim, attention_dim)
        self.init_h = nn.Linear(feature_dim, hidden_dim)
        self.init_c = nn.Linear(feature_dim, hidden_dim)
        self.gate = nn.Linear(hidden_dim, feature_dim)          # beta: how much of the context to let in
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTMCell(embed_dim + feature_dim, hidden_dim)
        # Deep output layer (paper eq. 7): L_o(E y + L_h h + L_z z).
        self.out_h = nn.Linear(hidden_dim, embed_dim)
        self.out_z = nn.Linear(feature_dim, embed_dim)
        self.out = nn.Linear(embed_dim, vocab_size)
        self.dropout = nn.Dropout(dropout)

    def init_state(self, encoder_out: torch.Tensor, rows: torch.Tensor | None = None):
        features = self.dropout(self.project(encoder_out))         # (B, R, D)
        feat_att = self.attention.feat(features)                   # (B, R, A), reused at every word
        mean = features.mean(1)
        h, c = torch.tanh(self.init_h(mean)), torch.tanh(self.init_c(mean))
        state = (h, c, features, feat_att)
        return state if rows is None else tuple(s[rows] for s in state)

    def step(self, state, words: torch.Tensor):
        h, c, features, feat_att = state
        context, alpha = self.attention(feat_att, features, h)
        context = torch.sigmoid(self.gate(h)) * context
        emb = self.embed(words)
        h, c = self.lstm(torch.cat([emb, context], 1), (h, c))
        logits = self.out(self.dropout(emb + self.out_h(h) + self.out_z(context)))
        return logits, (h, c, features, feat_att), alpha

    def reorder_beams(self, state, origin: torch.Tensor):
        """A beam only ever continues a beam of its own image, and every beam of an image holds that image's
        features already: only the LSTM's memory moves. Copying the features too took 17% of beam search."""
        h, c, features, feat_att = state
        return h[origin], c[origin], features, feat_att


class ShowAndTellDecoder(nn.Module):
    """NIC baseline (Vinyals et al. 2015): the mean image feature is the LSTM's first input; no attention."""
    kind = "show_and_tell"

    def __init__(self, vocab_size: int, encoder_dim: int = 1280, embed_dim: int = 512, hidden_dim: int = 512,
                 dropout: float = 0.5):
        super().__init__()
        self.hparams = dict(vocab_size=vocab_size, encoder_dim=encoder_dim, embed_dim=embed_dim,
                            hidden_dim=hidden_dim, dropout=dropout)
        self.image_embed = nn.Linear(encoder_dim, embed_dim)
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTMCell(embed_dim, hidden_dim)
        self.out = nn.Linear(hidden_dim, vocab_size)
        self.dropout = nn.Dropout(dropout)

    def init_state(self, encoder_out: torch.Tensor, rows: torch.Tensor | None = None):
        image = self.dropout(self.image_embed(encoder_out.mean(1)))
        h, c = self.lstm(image)
        state = (h, c)
        return state if rows is None else tuple(s[rows] for s in state)

    def step(self, state, words: torch.Tensor):
        h, c = self.lstm(self.dropout(self.embed(words)), state)
        return self.out(self.dropout(h)), (h, c), None

    def reorder_beams(self, state, origin: torch.Tensor):
        return tuple(s[origin] for s in state)


DECODERS = {cls.kind: cls for cls in (AttentionDecoder, ShowAndTellDecoder)}


def build_decoder(kind: str, **hparams) -> nn.Module:
    if kind not in DECODERS:
        raise ValueError(f"unknown decoder {kind!r}; known: {', '.join(DECODERS)}")
    return DECODERS[kind](**hparams)
