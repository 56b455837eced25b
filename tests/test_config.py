import pytest

from diffhpe.config import RunConfig, list_presets, load_config, parse_override


def test_every_preset_loads_and_validates():
    names = list_presets()
    assert {"mixste-paper", "diffhpe2d-paper", "wrapper-paper", "tiny"} <= set(names)
    for name in names:
        cfg = load_config(name)
        assert isinstance(cfg, RunConfig)


def test_paper_presets_hold_table_1():
    m, d, w = (
        load_config("mixste-paper"),
        load_config("diffhpe2d-paper"),
        load_config("wrapper-paper"),
    )
    assert (m.train.batch_size, m.train.lr, m.model.mixste.dropout) == (1024, 4e-5, 0.1)
    assert (d.train.batch_size, d.train.lr, d.model.denoiser.dropout) == (200, 8e-4, 0.03)
    assert (w.train.batch_size, w.train.lr, w.model.denoiser.dropout) == (200, 2.7e-4, 0.27)
    for c in (m, d, w):
        assert c.train.weight_decay == 1e-6 and c.data.length == 27
    assert (
        m.model.mixste.depth,
        m.model.mixste.dim,
        m.model.mixste.heads,
        m.model.mixste.mlp_ratio,
    ) == (8, 64, 8, 2.0)
    assert (w.model.denoiser.num_blocks, w.model.denoiser.channels, w.diffusion.num_steps) == (
        16,
        64,
        50,
    )


def test_overrides_and_types():
    cfg = load_config(
        "tiny",
        ["train.lr=0.5", "data.occlusion=mix", "model.kind=wrapper", "data.val_cameras=[a, b]"],
    )
    assert cfg.train.lr == 0.5 and cfg.data.occlusion == "mix" and cfg.model.kind == "wrapper"
    assert cfg.data.val_cameras == ["a", "b"]
    assert parse_override("a.b=3") == {"a": {"b": 3}}


def test_unknown_keys_and_bad_values_are_errors(tmp_path):
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['lrr'\]"):
        load_config("tiny", ["train.lrr=1"])
    with pytest.raises(ValueError, match="train.batch_size: expected an integer"):
        load_config("tiny", ["train.batch_size=abc"])
    with pytest.raises(ValueError, match="model.kind"):
        load_config("tiny", ["model.kind=gan"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  epochs: 3\n")
    with pytest.raises(ValueError, match=r"bad.yaml.train: unknown key"):
        load_config(str(bad))
    with pytest.raises(FileNotFoundError, match="no config file"):
        load_config("nonexistent-preset")
    with pytest.raises(ValueError, match="key=value"):
        parse_override("train.lr")


def test_sampling_start_settings_are_checked():
    cfg = load_config("wrapper-cpu", ["diffusion.init=backbone", "diffusion.start_step=9",
                                      "diffusion.sample_steps=4"])  # fmt: skip
    assert (cfg.diffusion.init, cfg.diffusion.start_step) == ("backbone", 9)
    with pytest.raises(ValueError, match="diffusion.init must be"):
        load_config("wrapper-cpu", ["diffusion.init=mixste"])
    with pytest.raises(ValueError, match="needs diffusion.init='backbone'"):
        load_config("wrapper-cpu", ["diffusion.start_step=9"])
    with pytest.raises(ValueError, match=r"sample_steps must be in 1\.\.6 for DDIM"):
        load_config("wrapper-cpu", ["diffusion.init=backbone", "diffusion.start_step=5"])
    with pytest.raises(ValueError, match="needs a wrapper"):
        load_config("diffhpe2d-cpu", ["diffusion.init=backbone", "diffusion.start_step=9",
                                      "diffusion.sample_steps=4"])  # fmt: skip
    with pytest.raises(ValueError, match="start_step must be in 0..49"):
        load_config("wrapper-cpu", ["diffusion.init=backbone", "diffusion.start_step=50"])


def test_run_config_json_reloads_and_exponents_parse(tmp_path):
    """A run's config.json (written with `1e-06`-style floats) loads back as a config file,
    and YAML's dotless exponents (`lr: 3e-4`, a string in YAML 1.1) are read as numbers."""
    import dataclasses
    import json

    cfg = load_config("tiny", ["train.min_lr=1e-06"])
    path = tmp_path / "config.json"
    path.write_text(json.dumps(dataclasses.asdict(cfg), indent=1), encoding="utf-8")
    assert "1e-06" in path.read_text(encoding="utf-8")
    again = load_config(str(path))
    assert again.train.min_lr == pytest.approx(1e-6)
    assert dataclasses.asdict(again) == dataclasses.asdict(cfg)
    yml = tmp_path / "x.yaml"
    yml.write_text("model: {kind: mixste}\ntrain: {lr: 3e-4}\n", encoding="utf-8")
    assert load_config(str(yml)).train.lr == pytest.approx(3e-4)
    yml.write_text("model: {kind: mixste}\ntrain: {lr: fast}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="train.lr: expected a number, got 'fast'"):
        load_config(str(yml))
