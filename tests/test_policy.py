"""The prompt policy: refuses what its rules name, in every free-text field, before the cache; logs only a hash."""

from __future__ import annotations

import hashlib
import logging

import pytest

from studio.launch import build_parser, main, settings_from
from studio.params import ParamError
from studio.policy import PromptPolicy
from studio.services import build_policy
from studio.settings import Settings
from tests.kit_helpers import KitParams, make_kit


@pytest.mark.parametrize(
    "prompt",
    [
        "a deepfake nude of my neighbour",
        "NAKED  child on a beach",
        "ｃｓａｍ",
        "schoolgirl, explicit",
        "re\u200bvenge porn",
    ],
)
def test_the_default_policy_refuses_its_terms_however_they_are_spelled(prompt):
    assert PromptPolicy.default().refusal(prompt) is not None


@pytest.mark.parametrize(
    "prompt",
    ["a child flying a kite", "nude sculpture in a museum", "a lollipop", "consensual agreement", "children's book"],
)
def test_the_default_policy_lets_ordinary_prompts_through(prompt):
    assert PromptPolicy.default().refusal(prompt) is None


def test_a_policy_file_has_words_phrases_patterns_and_comments(tmp_path):
    path = tmp_path / "policy.txt"
    path.write_text("# our rules\nbanana  split  # dessert talk\nre: \\bkiwi\\d+\n\n")
    policy = PromptPolicy.from_file(path)
    assert [r.line for r in policy.rules] == [2, 3]
    assert policy.refusal("a Banana   split please") and policy.refusal("kiwi42")
    assert not policy.refusal("bananas") and not policy.refusal("kiwi")
    path.write_text("ok\nre: (unclosed\n")
    with pytest.raises(ValueError, match="line 2: not a regular expression"):
        PromptPolicy.from_file(path)
    with pytest.raises(ValueError, match="--prompt-policy"):
        PromptPolicy.from_file(tmp_path / "missing.txt")


def test_every_free_text_field_is_checked_and_the_log_gets_only_a_hash(caplog):
    policy = PromptPolicy.parse("forbidden fruit\n", "test")
    policy.check(KitParams(prompt="apples", negative_prompt="pears"))
    with caplog.at_level(logging.WARNING), pytest.raises(ParamError) as err:
        policy.check(KitParams(prompt="apples", negative_prompt="no forbidden fruit"))
    assert err.value.field == "negative_prompt" and "prompt policy" in str(err.value)
    assert "forbidden" not in caplog.text.replace("'forbidden fruit'", "")
    assert hashlib.sha256(b"no forbidden fruit").hexdigest() in caplog.text
    assert "no forbidden fruit" not in caplog.text


def test_the_engine_refuses_before_the_cache(tmp_path):
    kit = make_kit(tmp_path)
    params = kit.check("kit", {"prompt": "a revenge porn picture", "seed": 1})
    kit.policy = PromptPolicy.default()
    with pytest.raises(ParamError, match="prompt policy"):
        kit.generate("kit", params)
    kit.policy = None
    kit.generate("kit", params)  # now cached
    kit.policy = PromptPolicy.default()
    with pytest.raises(ParamError, match="prompt policy"):
        kit.generate("kit", params)  # a cached result is not handed out either


def test_the_policy_is_on_by_default_when_the_studio_is_public(tmp_path):
    def policy(*argv):
        return settings_from(build_parser().parse_args(["--cache-dir", str(tmp_path), *argv])).prompt_policy

    assert policy() is None
    assert policy("--share", "--auth", "a:b") == "default" and policy("--host", "0.0.0.0") == "default"
    assert policy("--share", "--auth", "a:b", "--prompt-policy", "off") is None
    assert policy("--prompt-policy", str(tmp_path / "p.txt")) == str(tmp_path / "p.txt")
    assert build_policy(Settings(cache_dir=tmp_path, prompt_policy="default")) is not None


def test_c2pa_flags_go_together_and_bad_files_are_one_line_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        main(["--c2pa-cert", str(tmp_path / "c.pem")])
    assert err.value.code == 2 and "--c2pa-cert and --c2pa-key go together" in capsys.readouterr().err
