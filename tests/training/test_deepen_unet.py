"""A deepened UNet starts as the function it was grown from, trains its new layers, and only ever grows."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

from studio.training.deepen_unet import deepen, deeper_config, main  # noqa: E402
from studio.training.train_diffusion import unet_config  # noqa: E402


def tiny_unet(seed: int = 0):
    """The built-in UNet's layout (three levels, cross-attention at the two inner ones, caption FiLM), tiny."""
    config = unet_config(8) | dict(
        block_out_channels=(8, 16, 32),
        norm_num_groups=4,
        attention_head_dim=4,
        cross_attention_dim=12,
        projection_class_embeddings_input_dim=12,
    )
    torch.manual_seed(seed)
    unet = diffusers.UNet2DConditionModel(**config).eval()
    with torch.no_grad():  # trained weights are not zero where diffusers initialises zeros: make every layer count
        for p in unet.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return unet


def inputs(n: int = 3):
    g = torch.Generator().manual_seed(1)
    return dict(
        sample=torch.randn(n, 4, 8, 8, generator=g),
        timestep=torch.tensor([3, 400, 999][:n]),
        encoder_hidden_states=torch.randn(n, 5, 12, generator=g),
        class_labels=torch.randn(n, 12, generator=g),
    )


def out(unet, x):
    with torch.no_grad():
        return unet(**x).sample


@pytest.mark.parametrize("layers,transformer", [(2, 1), (1, 2), (3, 2)])
def test_deeper_unet_computes_what_the_original_computes(layers, transformer):
    old = tiny_unet()
    new = deepen(old, layers, transformer).eval()
    assert new.config.layers_per_block == layers and new.config.transformer_layers_per_block == transformer
    assert sum(p.numel() for p in new.parameters()) > sum(p.numel() for p in old.parameters())
    x = inputs()
    expected = out(old, x)
    assert expected.abs().mean() > 0.1  # a function worth preserving
    torch.testing.assert_close(out(new, x), expected, atol=1e-5, rtol=1e-5)


def test_the_added_layers_are_in_the_path_and_learn():
    old = tiny_unet()
    new = deepen(old, 2, 2)
    x = inputs()
    expected = out(old, x)
    loss = new(**x).sample.sub(expected + 1.0).pow(2).mean()
    loss.backward()
    added = [
        new.down_blocks[1].resnets[1].conv2.weight,  # a new down resnet
        new.up_blocks[0].attentions[1].proj_out.weight,  # a new up attention
        new.mid_block.attentions[0].transformer_blocks[1].ff.net[2].weight,  # a new transformer block
    ]
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in added)
    with torch.no_grad():
        for p in added:
            p.add_(0.1)
    assert (out(new.eval(), x) - expected).abs().max() > 1e-3


def test_old_weights_keep_their_places():
    old = tiny_unet()
    new = deepen(old, 2, 1)
    assert torch.equal(new.down_blocks[1].resnets[0].conv1.weight, old.down_blocks[1].resnets[0].conv1.weight)
    # up-path: the first resnet stays, the last (the one fed by the coarser level's skip) moves past the new one
    assert torch.equal(new.up_blocks[1].resnets[0].conv1.weight, old.up_blocks[1].resnets[0].conv1.weight)
    assert torch.equal(new.up_blocks[1].resnets[2].conv1.weight, old.up_blocks[1].resnets[1].conv1.weight)
    assert torch.equal(new.conv_out.weight, old.conv_out.weight)


def test_deepening_only_grows():
    config = dict(tiny_unet().config)
    with pytest.raises(ValueError, match="deepening goes up"):
        deeper_config(config, 0, 1)
    with pytest.raises(ValueError, match="one transformer depth"):
        deeper_config(config | {"transformer_layers_per_block": [1, 2, 1]}, 2, 2)


def test_command_line_writes_a_loadable_folder(tmp_path, capsys):
    old = tiny_unet()
    old.save_pretrained(tmp_path / "unet", safe_serialization=True)
    main(["--from", str(tmp_path / "unet"), "--out", str(tmp_path / "deep"), "--layers-per-block", "2"])
    assert "M parameters" in capsys.readouterr().out
    loaded = diffusers.UNet2DConditionModel.from_pretrained(tmp_path / "deep", use_safetensors=True).eval()
    torch.testing.assert_close(out(loaded, inputs()), out(old, inputs()), atol=1e-5, rtol=1e-5)
