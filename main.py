"""Iris: offline image descriptions, spoken aloud.

Run with no command to start the assistant in the background."""
import argparse
import os
import sys


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python main.py",
        description="Iris describes images aloud, offline. With no command, it starts the assistant.",
        epilog="Example: python main.py describe photo.jpg --speak")
    p.add_argument("--config", metavar="FILE", help="use this settings file instead of your own")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("run", help="start the assistant (the default)")

    d = sub.add_parser("describe", help="describe image files")
    d.add_argument("files", nargs="+", metavar="FILE", help="image files")
    d.add_argument("--speak", action="store_true", help="also speak each description")
    d.add_argument("--beam", type=int, metavar="N", help="beam size (1 is fastest)")
    d.add_argument("--attention-png", metavar="OUT", help="save a picture of where the model looked, word by word")
    d.add_argument("--checkpoint", metavar="FILE", help="use this model file")

    c = sub.add_parser("caption-folder", help="describe every image in a folder")
    c.add_argument("folder", metavar="DIR")
    c.add_argument("--recursive", action="store_true", help="include sub-folders")
    c.add_argument("--beam", type=int, metavar="N", help="beam size (1 is fastest)")
    c.add_argument("--batch", type=int, default=16, metavar="N", help="images per batch (default 16)")
    c.add_argument("--sidecar", action="store_true", help="write PHOTO.txt beside each photo")
    c.add_argument("--checkpoint", metavar="FILE", help="use this model file")

    t = sub.add_parser("train", help="train a captioning model on Flickr8k")
    t.add_argument("--decoder", choices=["attention", "show_and_tell"], default="attention",
                   help="attention (the shipped model) or the Show-and-Tell baseline")
    t.add_argument("--encoder", default="efficientnet_lite2",
                   help="image encoder: efficientnet_lite0, _lite1 or _lite2 (default efficientnet_lite2); "
                        "features are pooled to its own grid (7x7, 8x8, 9x9)")
    t.add_argument("--epochs", type=int, default=30, help="most epochs (default 30; stops early when val stops improving)")
    t.add_argument("--max-minutes", type=float, default=0, metavar="M", help="stop after the epoch that passes M minutes")
    t.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    t.add_argument("--out", metavar="DIR", help="where checkpoints and the log go (default runs/DECODER)")
    t.add_argument("--data", metavar="DIR", help="Flickr8k folder (default ../shared/data/flickr8k)")
    t.add_argument("--limit", type=int, default=0, metavar="N", help="use only N images per split (quick trial)")
    t.add_argument("--cache", metavar="DIR",
                   help="where encoder features and caption embeddings are cached (default cache/features)")
    t.add_argument("--contrastive-epochs", type=int, default=0, metavar="N",
                   help="stage 1: pretrain the image side against sentence embeddings of the captions for N epochs "
                        "before cross-entropy (seed 004; default 0, as the shipped model was trained: see README, 'The model')")
    t.add_argument("--tune-top", action=argparse.BooleanOptionalAction, default=None,
                   help="fine-tune the encoder's top (its last stage and head convolution) with the decoder during "
                        "cross-entropy, on cached features of the layers below it (default: on for the attention "
                        "decoder without a contrastive stage, as the shipped model was trained)")
    t.add_argument("--sentinel", action="store_true",
                   help="adaptive attention (Lu et al. 2017): the attention decoder attends after its LSTM and may "
                        "take a visual sentinel instead of the image for a word (default off, as the shipped model "
                        "was trained)")
    t.add_argument("--concepts", action="store_true",
                   help="concept inputs (LSTM-A, Yao et al. 2017): the encoder's ImageNet head's class probabilities, "
                        "from its pretrained top, start the attention decoder's LSTM beside the image (default off, "
                        "as the shipped model was trained)")
    t.add_argument("--scst-epochs", type=int, default=1, metavar="N",
                   help="stage 3: self-critical training on CIDEr-D after cross-entropy, at most N epochs (default 1, "
                        "as the shipped model was trained: later epochs name more things that are not there; "
                        "0: stop after cross-entropy)")
    t.add_argument("--scst-xe-weight", type=float, default=0.05, metavar="W",
                   help="keep the references' cross-entropy in the self-critical loss at this weight (default 0.05, "
                        "as the shipped model was trained: with the false-subject penalty alone, captions learn to "
                        "stop mid-phrase)")
    t.add_argument("--scst-meteor-weight", type=float, default=0.0, metavar="W",
                   help="reward self-critical samples with CIDEr-D + W times METEOR, which credits recall of the "
                        "references (default 0: CIDEr-D alone; needs Java)")
    t.add_argument("--scst-false-penalty", type=float, default=0.1, metavar="W",
                   help="take W from the reward of a self-critical sample that names a person, animal or thing "
                        "no reference mentions (default 0.1, as the shipped model was trained; 0: CIDEr-D alone)")
    t.add_argument("--scst-soup-meteor-weight", type=float, default=1.0, metavar="W",
                   help="also train the self-critical stage from the same start with CIDEr-D + W times METEOR as its "
                        "reward, and keep the mean of the two models' weights, a model soup (default 1, as the "
                        "shipped model was trained; 0: one self-critical model; needs Java)")
    t.add_argument("--scst-from", metavar="FILE",
                   help="skip cross-entropy: run only the self-critical stage, starting from this checkpoint")
    t.add_argument("--held-out", metavar="WORDS", default="",
                   help="comma-separated concepts to leave out of training (every image whose captions name one), "
                        "to measure how Iris describes things it never saw, e.g. cat,horse,bicycle")

    k = sub.add_parser("calibrate", help="learn on the val split how far to trust a model's captions ('possibly', "
                                         "'I can't tell') and save it in its file (train does this for the model it makes)")
    k.add_argument("checkpoint", metavar="FILE", help="the model file to calibrate (it is rewritten)")
    k.add_argument("--data", metavar="DIR", help="Flickr8k folder (default ../shared/data/flickr8k)")
    k.add_argument("--cache", metavar="DIR", help="where encoder features are cached (default cache/features)")

    e = sub.add_parser("evaluate", help="score models on the test split")
    e.add_argument("--checkpoint", action="append", metavar="LABEL=FILE",
                   help="model to score (repeatable); default: the shipped model and runs/show_and_tell/best.pt")
    e.add_argument("--beams", type=int, nargs="+", default=[1, 3], metavar="N", help="beam sizes (default 1 3)")
    e.add_argument("--output", metavar="FILE",
                   help="where the table goes (default runs/evaluation.md); rows of models it does not re-score are kept")
    e.add_argument("--data", metavar="DIR", help="Flickr8k folder (default ../shared/data/flickr8k)")
    e.add_argument("--limit", type=int, default=0, metavar="N", help="score only the first N test images")
    e.add_argument("--cache", metavar="DIR", help="where encoder features are cached (default cache/features)")

    h = sub.add_parser("history", help="list recent descriptions")
    h.add_argument("-n", type=int, default=20, help="how many (default 20)")

    sub.add_parser("settings", help="show where settings live")

    w = sub.add_parser("web", help="serve Iris's web page on this computer (127.0.0.1 only)")
    w.add_argument("--port", type=int, metavar="N", help="port (default: [web] port in settings)")
    w.add_argument("--open", action="store_true", help="open the page in the default browser")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = args.command or "run"
    import faulthandler
    faulthandler.enable()            # a crash in native code prints where it happened instead of dying silently
    if hasattr(faulthandler, "register"):          # and a hung one prints every thread's stack on SIGUSR1
        import signal
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    from assistant import commands   # heavy imports (torch) only after arguments are known

    try:
        return commands.dispatch(command, args)
    except commands.UserError as e:
        print(f"iris: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    code = main()
    # Every command has finished, flushed and closed its files by now. Skipping the C++
    # static destructors avoids an abort ("terminate called without an active exception")
    # that torch's thread pools can raise at interpreter exit after multi-threaded work.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
