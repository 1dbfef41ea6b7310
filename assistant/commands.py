"""What each `main.py` subcommand does. Errors the user can fix become UserError
with one plain sentence; main.py prints it and exits with status 2."""
import os
import sys
from dataclasses import replace
from pathlib import Path

from config import ConfigError, load, user_settings_path
from config.settings import Settings


class UserError(Exception):
    pass


def _settings(args) -> Settings:
    try:
        return load(Path(args.config) if args.config else None)
    except ConfigError as e:
        raise UserError(str(e)) from None


def _narration(settings: Settings, captioner):
    """The narrator's policy, as the assistant has it: the same routing, hedging and grounding, with the
    captioner's own doubt."""
    from assistant.narrator import Narration
    narration = Narration(settings.folders.burst_seconds)
    narration.calibrate(captioner.calibration, settings.model.hedge_below)
    return narration


def _captioner(settings: Settings, checkpoint: str | None = None, beam: int | None = None):
    import torch
    from model.captioner import Captioner
    from model.checkpoint import CheckpointError
    from model.encoder import EncoderWeightsMissing

    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    m = settings.model
    try:
        return Captioner(checkpoint or m.checkpoint or None, m.device, beam or m.beam_size, m.max_length)
    except (CheckpointError, EncoderWeightsMissing, RuntimeError) as e:
        raise UserError(str(e)) from None


def _print_error(r) -> None:
    """One line per unreadable file: 'PATH: error: why'."""
    print(f"{r.key}: error: {r.error}", file=sys.stderr)


def describe(args) -> int:
    from assistant.pipeline import caption_files

    settings = _settings(args)
    captioner = _captioner(settings, args.checkpoint, args.beam)
    words = _narration(settings, captioner).words
    speaker = None
    if args.speak:
        from assistant.speech import Speaker
        speaker = Speaker(replace(settings.speech, enabled=True), report=lambda p: print(p.printed(), file=sys.stderr))
        speaker.start()
    failed = 0
    paths = [Path(f) for f in args.files]
    for n, r in enumerate(caption_files(captioner, paths, keep_images=bool(args.attention_png))):
        if r.error:
            failed += 1
            _print_error(r)
            continue
        said = words(r.event)
        print(f"{r.key}: {said}", flush=True)
        if speaker:
            speaker.say(said, interrupt=False)
        if args.attention_png and r.caption is not None:
            from model.attention_plot import plot_attention
            out = Path(args.attention_png)
            if len(paths) > 1:
                out = out.with_name(f"{out.stem}-{n + 1}{out.suffix or '.png'}")
            try:
                plot_attention(r.image, r.caption, out)
                print(f"attention maps saved to {out}", file=sys.stderr)
            except (ValueError, OSError) as e:
                raise UserError(f"cannot draw attention maps: {e}") from None
    if speaker:
        speaker.wait_idle(timeout=120)
        speaker.stop()
    return 1 if failed else 0


def caption_folder(args) -> int:
    from tqdm import tqdm

    from assistant.images import is_candidate
    from assistant.pipeline import caption_files
    from assistant.sidecar import write_sidecar

    folder = Path(args.folder)
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder")
    pattern = "**/*" if args.recursive else "*"
    try:
        paths = sorted(p for p in folder.glob(pattern) if is_candidate(p) and p.is_file())
    except OSError as e:
        raise UserError(f"cannot list {folder}: {e.strerror}") from None
    if not paths:
        print(f"No images in {folder}.", file=sys.stderr)
        return 0
    settings = _settings(args)
    captioner = _captioner(settings, args.checkpoint, args.beam)
    words = _narration(settings, captioner).words
    failed = 0
    bar = tqdm(total=len(paths), unit="image", file=sys.stderr, disable=not sys.stderr.isatty())
    for r in caption_files(captioner, paths, batch_size=args.batch):
        bar.update()
        if r.error:
            failed += 1
            _print_error(r)
            continue
        said = words(r.event)
        print(f"{r.key}: {said}", flush=True)
        if args.sidecar and (problem := write_sidecar(r.key, said)):
            print(f"{r.key}: {problem}", file=sys.stderr)
    bar.close()
    print(f"{len(paths) - failed} of {len(paths)} images described.", file=sys.stderr)
    return 1 if failed else 0


def train(args) -> int:
    """The shipped recipe: cached features -> [contrastive image side] -> cross-entropy -> self-critical."""
    import torch
    from model.checkpoint import CheckpointError
    from model.data import DataMissing
    from model.encoder import ENCODERS, EncoderWeightsMissing
    from model.calibration import CalibrationError, calibrate as calibrate_checkpoint
    from model.concepts import WordNetMissing
    import dataclasses
    from model import soup
    from model.scst import JavaMissing, ScstConfig, train_scst
    from model.sentences import SentenceModelMissing
    from model.train import PROJECT, TrainConfig, train as run_training

    if args.encoder not in ENCODERS:
        raise UserError(f"unknown encoder {args.encoder!r}; choose one of: {', '.join(ENCODERS)}")
    if args.contrastive_epochs and args.decoder != "attention":
        raise UserError("the contrastive stage pretrains the attention decoder's image side; "
                        "use it with --decoder attention")
    if args.sentinel and args.decoder != "attention":
        raise UserError("the visual sentinel is part of the attention decoder; use it with --decoder attention")
    if args.concepts and args.decoder != "attention":
        raise UserError("concept inputs start the attention decoder's LSTM; use them with --decoder attention")
    if args.tune_top is None:   # the shipped recipe, where the other stages allow it
        args.tune_top = args.decoder == "attention" and not args.contrastive_epochs
    if args.tune_top and args.decoder != "attention":
        raise UserError("only the attention decoder can fine-tune the encoder's top; use it with --decoder attention")
    if args.tune_top and args.contrastive_epochs:
        raise UserError("the contrastive stage reads the encoder's own top; use --tune-top or --contrastive-epochs, "
                        "not both")
    torch.set_num_threads(os.cpu_count() or 1)
    out = Path(args.out or PROJECT / "runs" / args.decoder)
    cfg = TrainConfig(decoder=args.decoder, encoder=args.encoder, grid=ENCODERS[args.encoder].grid,
                      epochs=args.epochs, max_minutes=args.max_minutes, resume=args.resume, limit=args.limit,
                      held_out=tuple(w.strip() for w in args.held_out.split(",") if w.strip()),
                      contrastive_epochs=args.contrastive_epochs, tune_top=args.tune_top, out_dir=str(out),
                      decoder_hparams={**({"sentinel": True} if args.sentinel else {}),
                                       **({"concepts": args.encoder} if args.concepts else {})})
    if args.data:
        cfg.data_dir = args.data
    if args.cache:
        cfg.cache_dir = args.cache
    scst = ScstConfig(out_dir=str(out / "scst"), epochs=args.scst_epochs, xe_weight=args.scst_xe_weight,
                      meteor_weight=args.scst_meteor_weight, false_penalty=args.scst_false_penalty,
                      limit=args.limit, data_dir=cfg.data_dir,
                      cache_dir=cfg.cache_dir, resume=args.resume, max_minutes=args.max_minutes)
    try:
        if args.scst_from:
            scst.start = args.scst_from
        elif args.resume and (out / "scst" / "last.pt").exists():   # cross-entropy is done; go on with SCST
            scst.start = str(out / "best.pt")
        else:
            scst.start = str(run_training(cfg))
            print(f"cross-entropy model: {scst.start}")
        best = train_scst(scst) if args.scst_epochs or args.scst_from else Path(scst.start)
        if args.scst_soup_meteor_weight and (args.scst_epochs or args.scst_from):
            # The same stage again from the same start, rewarded for recall too; what ships is the two averaged.
            other = train_scst(dataclasses.replace(scst, out_dir=str(out / "scst_meteor"),
                                                   meteor_weight=args.scst_soup_meteor_weight))
            print(f"model soup of {best} and {other}")
            best = soup.average([best, other], out / "soup.pt")
        # How far to trust the captions of the model it made, learnt on the same val split.
        calibrate_checkpoint(best, cfg.data_dir, cfg.cache_dir)
    except (DataMissing, EncoderWeightsMissing, SentenceModelMissing, CheckpointError, CalibrationError,
            JavaMissing, WordNetMissing) as e:
        raise UserError(str(e)) from None
    print(f"best model: {best}")
    return 0


def calibrate(args) -> int:
    from model.calibration import CalibrationError, calibrate as calibrate_checkpoint
    from model.checkpoint import CheckpointError
    from model.data import DataMissing
    from model.encoder import EncoderWeightsMissing
    try:
        calibrate_checkpoint(Path(args.checkpoint), args.data, args.cache)
    except (DataMissing, EncoderWeightsMissing, CheckpointError, CalibrationError) as e:
        raise UserError(str(e)) from None
    return 0


def evaluate(args) -> int:
    from model.checkpoint import SHIPPED, CheckpointError
    from model.data import DataMissing
    from model.evaluate import evaluate as run_eval, rows_not_rescored, table
    from model.train import PROJECT

    if args.checkpoint:
        pairs = [c.split("=", 1) if "=" in c else (Path(c).stem, c) for c in args.checkpoint]
    else:
        pairs = [("Show, Attend and Tell (soft attention)", SHIPPED)]
        baseline = PROJECT / "runs" / "show_and_tell" / "best.pt"
        if baseline.exists():
            pairs.append(("Show and Tell baseline", baseline))
        else:
            print("The Show-and-Tell baseline is not trained here; "
                  "`python main.py train --decoder show_and_tell` adds it.", file=sys.stderr)
    kw = {"limit": args.limit}
    if args.data:
        kw["data_dir"] = args.data
    if args.cache:
        kw["cache_dir"] = args.cache
    try:
        rows = run_eval({label: Path(p) for label, p in pairs}, beams=args.beams, **kw)
    except (CheckpointError, DataMissing) as e:
        raise UserError(str(e)) from None
    out = Path(args.output or PROJECT / "runs" / "evaluation.md")
    kept = rows_not_rescored(out.read_text(), rows) if out.is_file() else []
    text = table(rows, kept=kept)
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"written to {out}" + (f" (kept {len(kept)} earlier rows it did not re-score)" if kept else ""))
    return 0


def history(args) -> int:
    from assistant.history import History, default_path

    if not default_path().exists():
        print("No history yet.")
        return 0
    rows = History().recent(args.n)
    for r in rows:
        # Older databases kept the path inside the error as well: said once here.
        reason = (r["error"] or "").removeprefix(f"{r['path']}: ")
        what = r["caption"] if r["status"] == "ok" else f"failed: {reason}"
        where = f" {r['path']}" if r["path"] else ""
        print(f"{r['time']}  {r['source']}{where}: {what}")
    return 0


def settings(args) -> int:
    from config import DEFAULTS, data_dir
    print(f"Your settings file: {user_settings_path()} ({'exists' if user_settings_path().exists() else 'not created yet'})")
    print(f"Defaults, with a comment for every setting: {DEFAULTS}")
    print(f"History and data: {data_dir()}")
    _settings(args)
    print("Settings are valid.")
    return 0


def web(args) -> int:
    """The web page alone, until Ctrl+C: prints and speaks where it is."""
    import signal
    import threading
    from assistant.history import History
    from assistant.ocr import Ocr
    from assistant.speech import Speaker
    from assistant.web.describer import Describer
    from assistant.web.server import WebServer
    settings = _settings(args)
    captioner = _captioner(settings)
    narration = _narration(settings, captioner)
    history = History() if settings.history.enabled else None
    server = WebServer(Describer(captioner, narration, Ocr).describe, history, args.port or settings.web.port,
                       args.open or settings.web.open_browser, log=lambda m: print(m, flush=True))
    if problems := server.start():
        raise UserError(problems[0].said + f" ({problems[0].detail})")
    speaker = Speaker(settings.speech, report=lambda p: print(p.printed(), file=sys.stderr))
    speaker.start()
    speaker.say(f"Iris's web page is open on this computer, port {server.port}. Its address is printed.")
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    from assistant.service import SIGNAL_CHECK_SECONDS
    while not done.wait(SIGNAL_CHECK_SECONDS):    # see Service.run: a signal may reach another thread
        pass
    speaker.stop()
    server.stop()
    if history:
        history.close()
    return 0


def run(args) -> int:
    settings = _settings(args)          # a bad file stops here, before anything starts
    from assistant.service import Service
    return Service(settings, captioner_factory=lambda: _captioner(settings)).run()


def dispatch(command: str, args) -> int:
    return {"run": run, "describe": describe, "caption-folder": caption_folder, "train": train, "calibrate": calibrate,
            "evaluate": evaluate, "history": history, "settings": settings, "web": web}[command](args)
