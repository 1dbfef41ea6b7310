"""Real espeak-ng speech (its own program, one process per utterance), written to WAV files and measured; the
Speaker's queue policy over its drivers."""
import subprocess

from assistant.speech import Speaker, wav_stats
from assistant.speech_drivers import SilentDriver, SpeechError, WavFileDriver
from config.settings import SpeechSettings


def settings(tmp_path, **overrides) -> SpeechSettings:
    return SpeechSettings(**{"enabled": True, "rate": 175, "volume": 1.0, "voice": "",
                             "output_dir": str(tmp_path / "out"), **overrides})


def speaker(tmp_path, log=None, **overrides):
    s = Speaker(settings(tmp_path, **overrides), report=lambda p: (log or (lambda m: None))(p.printed()))
    s.start()
    return s


def wavs(tmp_path):
    return sorted((tmp_path / "out").glob("*.wav"))


def test_speech_is_real_audio_of_plausible_length(tmp_path):
    s = speaker(tmp_path)
    s.say("A brown dog runs across the grass.")
    assert s.wait_idle(30)
    s.say("A man in a red jacket is climbing a steep rock face while his friend holds the rope below him.",
          interrupt=False)
    assert s.wait_idle(30)
    s.stop()
    (short, rms1), (long, rms2) = [wav_stats(w) for w in wavs(tmp_path)]
    assert 1.0 < short < 5.0 and 3.0 < long < 12.0 and long > 1.8 * short
    assert rms1 > 0.01 and rms2 > 0.01


def test_rate_setting_changes_speaking_speed(tmp_path):
    durations = {}
    for rate in (100, 300):
        s = speaker(tmp_path / str(rate), rate=rate)
        s.say("Two children are playing football in a park.")
        assert s.wait_idle(30)
        s.stop()
        durations[rate] = wav_stats(wavs(tmp_path / str(rate))[0])[0]
    assert durations[100] > 2 * durations[300]
    # and nothing is cut off: each WAV is as long as espeak-ng's own rendering at that rate
    for rate, seconds in durations.items():
        cli = tmp_path / f"cli-{rate}.wav"
        subprocess.run(["espeak-ng", "-s", str(rate), "-w", str(cli), "Two children are playing football in a park."],
                       check=True)
        assert abs(seconds - wav_stats(cli)[0]) < 0.15, (rate, seconds, wav_stats(cli)[0])


def test_stop_speaking_drops_everything_queued(tmp_path):
    s = speaker(tmp_path)
    for i in range(6):
        s.say(f"Caption number {i} describes a long scene with many people walking.", interrupt=False)
    s.stop_speaking()
    assert s.wait_idle(30)
    spoken_after_stop = len(wavs(tmp_path))
    s.say("Last one.")
    assert s.wait_idle(30)
    s.stop()
    assert spoken_after_stop <= 1
    assert len(wavs(tmp_path)) == spoken_after_stop + 1
    assert s.spoken[-1][0] == "Last one."


def test_new_request_interrupts_what_is_waiting(tmp_path):
    s = speaker(tmp_path)
    for i in range(4):
        s.say(f"Old caption {i} about a dog in the snow.", interrupt=False)
    s.say("New description.")                 # the default: cut off what came before
    assert s.wait_idle(30)
    s.stop()
    texts = [t for t, _ in s.spoken]
    assert texts[-1] == "New description."
    assert len(texts) < 5


def test_no_audio_device_is_said_once_and_speech_keeps_running(tmp_path, monkeypatch):
    monkeypatch.setenv("ALSA_CARD", "99")       # no such sound card: aplay fails as on a machine without audio
    messages = []
    s = speaker(tmp_path, log=messages.append, output_dir="")
    for text in ("First caption.", "Second caption."):
        s.say(text, interrupt=False)
        assert s.wait_idle(30)
    s.stop()
    problems = [m for m in messages if "cannot play sound" in m]
    assert len(problems) == 1, messages
    assert "descriptions are printed only" in problems[0]


def test_a_failing_utterance_is_reported_once_and_the_speech_thread_lives_on(tmp_path):
    said = []
    blocked = tmp_path / "out"
    blocked.write_text("a file where the WAV folder should be")
    s = speaker(tmp_path, log=said.append)
    for text in ("First caption.", "Second caption."):
        s.say(text, interrupt=False)
        assert s.wait_idle(30)                  # processed, not stuck behind a dead thread
    assert s._thread.is_alive()
    s.stop()
    assert len([m for m in said if "Speech failed" in m]) == 1, said


def test_muted_speaker_queues_nothing_until_unmuted_and_says_its_last_words_before_muting(tmp_path):
    s = speaker(tmp_path, enabled=False)            # speech.enabled = false at start
    s.say("Not heard.")
    assert s.wait_idle(30) and wavs(tmp_path) == []
    s.unmute()
    s.say("Speech on.")
    s.say("Speech off.", interrupt=False, mute_after=True)
    s.say("Not heard either.", interrupt=False)
    assert s.wait_idle(30)
    s.stop()
    assert [t for t, _ in s.spoken] == ["Speech on.", "Speech off."]
    assert len(wavs(tmp_path)) == 2


def test_a_driver_that_raises_is_reported_once_by_the_speaker_and_speech_goes_on(tmp_path):
    class Flaky(WavFileDriver):
        def speak(self, text):
            if "broken" in text:
                raise SpeechError("cannot play sound (device busy)")
            super().speak(text)

    reports = []
    s = Speaker(settings(tmp_path), report=reports.append, driver=None)
    s.driver = Flaky(s.settings, s._audio_started)
    s.start()
    for text in ("broken one.", "broken two.", "Fine."):
        s.say(text, interrupt=False)
    assert s.wait_idle(30)
    s.stop()
    assert len(reports) == 1 and "device busy" in reports[0].detail and "printed" in reports[0].said
    assert [t for t, _ in s.spoken] == ["Fine."]


def test_no_engine_falls_back_to_the_silent_driver_with_one_plain_problem(tmp_path, monkeypatch):
    broken = tmp_path / "lib"
    broken.mkdir()
    (broken / "libespeak-ng.so.1").write_bytes(b"")      # found first, cannot be loaded: as if not installed
    r = subprocess.run([__import__("sys").executable, "-c",
                        "from assistant.speech import Speaker\n"
                        "from config.settings import SpeechSettings\n"
                        f"s = Speaker(SpeechSettings(True, 175, 1.0, '', {str(tmp_path / 'out')!r}))\n"
                        "problems = s.start(); s.say('Hello.'); s.wait_idle(10); s.stop()\n"
                        "print(type(s.driver).__name__, '|', [p.said for p in problems])"],
                       cwd=__import__("conftest").ROOT, env={**__import__("os").environ, "LD_LIBRARY_PATH": str(broken)},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(SilentDriver.__name__) and "install espeak-ng" in r.stdout
    assert not (tmp_path / "out").exists()


def test_a_voice_named_in_settings_is_used_and_an_unknown_one_is_said_once(tmp_path):
    found = {}
    for voice in ("en-us", "no-such-voice"):
        s = Speaker(settings(tmp_path / voice, voice=voice), report=lambda p: None)
        problems = s.start()
        s.say("Two children are playing football in a park.")
        assert s.wait_idle(30)
        s.stop()
        found[voice] = [p.said for p in problems], wavs(tmp_path / voice)
    assert found["en-us"][0] == [] and len(found["en-us"][1]) == 1
    assert found["no-such-voice"][0] == ["The voice no-such-voice was not found; the default voice speaks."]
    assert len(found["no-such-voice"][1]) == 1                 # the default voice still speaks
    # the American voice is really another voice: its audio differs from the default's
    assert found["en-us"][1][0].read_bytes() != found["no-such-voice"][1][0].read_bytes()


def test_a_wav_appears_under_its_name_only_once_whole(tmp_path):
    """Whoever watches the folder (a test, a user's script) never finds half an utterance: espeak-ng's header
    claims an endless length until it finishes."""
    import threading
    driver = WavFileDriver(settings(tmp_path))
    assert driver.open() == []
    seen: dict[str, float] = {}
    done = threading.Event()

    def watch():
        while True:
            finished = done.is_set()     # one more look after the driver returned
            for wav in (tmp_path / "out").glob("utterance-*.wav"):
                seen.setdefault(wav.name, wav_stats(wav)[0])
            if finished:
                return
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        driver.speak("A long sentence, " * 12 + "so that writing it takes a while.")
    finally:
        done.set()
        watcher.join(10)
        driver.close()
    assert list(seen) == ["utterance-0001.wav"]
    assert 5 < seen["utterance-0001.wav"] < 60 and seen["utterance-0001.wav"] == wav_stats(wavs(tmp_path)[0])[0]
    assert [w.name for w in (tmp_path / "out").iterdir()] == ["utterance-0001.wav"]    # no part file left
