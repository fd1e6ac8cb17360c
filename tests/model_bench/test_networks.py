"""The reference networks (model_bench.networks): shapes, deep supervision, the loss, RepVGG's
re-parameterisation, ONNX exports against onnxruntime, and seeded runs repeating bit for bit.

Every network is built tiny and fed 32×32 images so that the file runs in well under a minute on
one CPU core; the defaults (A0, ResNet-18, …) differ only in widths and depths.
"""

import copy
import logging

import onnx
import pytest
import torch
from torch import nn

from model_bench.networks import KINDS, NETWORKS, SEGMENTATION, build, parameter_count
from model_bench.networks.determinism import pick_device, seed_everything
from model_bench.networks.losses import DiceBCELoss
from model_bench.networks.onnx_export import OnnxMismatchError, check_onnx, export_onnx
from model_bench.networks.repvgg import RepVGG, RepVGGBlock, deploy

TINY = {
    "unetpp": {"depth": 3, "base_width": 4},
    "repvgg": {"blocks": (1, 1, 2, 1, 1), "width_multiplier": 1 / 8},
    "vgg": {"width_multiplier": 1 / 16},
    "resnet": {"blocks": (1, 1, 1, 1), "width_multiplier": 1 / 16},
    "densenet": {"layers": (2, 2, 2), "growth_rate": 4},
    "shufflenet": {"units": (1, 2, 1), "width_multiplier": 1 / 8, "final_width": 32},
}


@pytest.fixture(autouse=True)
def _restore_torch_state():
    # seed_everything switches on deterministic algorithms for the whole process; put the
    # settings back so that the rest of the suite runs as it would without these tests.
    deterministic = torch.are_deterministic_algorithms_enabled()
    threads = torch.get_num_threads()
    rng = torch.get_rng_state()
    torch.manual_seed(0)
    yield
    torch.use_deterministic_algorithms(deterministic)
    torch.set_num_threads(threads)
    torch.set_rng_state(rng)


def images(batch: int = 2, size: int = 32) -> torch.Tensor:
    return torch.randn(batch, 3, size, size)


def test_registry_names_every_network():
    assert set(NETWORKS) == set(TINY) == set(KINDS)
    with pytest.raises(ValueError, match="Unknown network 'alexnet'; choose one of unetpp"):
        build("alexnet", num_classes=2)


@pytest.mark.parametrize("name", NETWORKS)
def test_output_shapes(name):
    model = build(name, num_classes=3, **TINY[name])
    assert parameter_count(model) > 0
    x = images()
    for mode in (True, False):
        model.train(mode)
        out = model(x)
        if KINDS[name] == SEGMENTATION:
            assert out.shape == (2, 3, 32, 32)
        else:
            assert out.shape == (2, 3)
            assert model.features(x).shape == (2, model.num_features)


def test_classifiers_take_64_pixel_images_too():
    for name in NETWORKS:
        if KINDS[name] != SEGMENTATION:
            assert build(name, num_classes=2, **TINY[name])(images(1, 64)).shape == (1, 2)


def test_default_repvgg_is_a0_sized():
    # RepVGG-A0 with the 1000-class head: 9.11 M parameters to train, 8.30 M once deployed
    # (Ding et al., 2021, Table 4).
    model = RepVGG(num_classes=1000)
    assert round(parameter_count(model) / 1e6, 2) == 9.11
    assert round(parameter_count(deploy(model)) / 1e6, 2) == 8.31


def test_unetpp_deep_supervision_outputs():
    model = build("unetpp", num_classes=1, depth=3, base_width=4, deep_supervision=True)
    x = images()
    outputs = model(x)  # training mode: one mask per head X^{0,1} … X^{0,3}
    assert isinstance(outputs, list)
    assert len(outputs) == 3
    assert all(output.shape == (2, 1, 32, 32) for output in outputs)

    model.eval()
    with torch.no_grad():
        averaged = model(x)
        heads = model.forward_all(x)
    torch.testing.assert_close(averaged, torch.stack(heads).mean(0))

    fast = copy.deepcopy(model)
    fast.mode, fast.fast_level = "fast", 1
    with torch.no_grad():
        torch.testing.assert_close(fast(x), heads[0])


def test_unetpp_rejects_a_size_it_cannot_halve_enough_times():
    model = build("unetpp", num_classes=1, depth=3, base_width=4)
    with pytest.raises(ValueError, match=r"divisible by 8; got 30×32\. Resize .* to 32×32"):
        model(torch.randn(1, 3, 30, 32))
    with pytest.raises(ValueError, match="takes a batch"):
        model(torch.randn(3, 32, 32))

    padded = build("unetpp", num_classes=1, depth=3, base_width=4, pad_input=True)
    assert padded(torch.randn(1, 3, 30, 27)).shape == (1, 1, 30, 27)


def test_dice_bce_is_zero_for_a_perfect_prediction():
    mask = torch.zeros(2, 1, 32, 32)
    mask[:, :, 8:20, 10:24] = 1
    perfect = (mask * 2 - 1) * 50  # logits ±50: sigmoid is 0 or 1 to float precision
    loss = DiceBCELoss()
    assert loss(perfect, mask).item() < 1e-6
    assert loss(perfect, mask[:, 0]).item() < 1e-6  # a (N, H, W) mask
    assert loss(-perfect, mask).item() > 1  # the exact opposite is far from it
    # Deep supervision: the mean of each output's loss.
    expected = (loss(perfect, mask) + loss(-perfect, mask)) / 2
    torch.testing.assert_close(loss([perfect, -perfect], mask), expected)
    with pytest.raises(ValueError, match="does not match"):
        loss(perfect, torch.zeros(2, 1, 16, 16))


def test_dice_bce_decreases_when_unetpp_learns_a_toy_mask():
    torch.manual_seed(1)
    model = build("unetpp", num_classes=1, depth=2, base_width=4, deep_supervision=True)
    x = torch.randn(4, 3, 32, 32)
    mask = (x[:, :1] > 0.3).float()  # learnable from the pixels themselves
    criterion = DiceBCELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    losses = []
    for _ in range(10):
        optimizer.zero_grad()
        loss = criterion(model(x), mask)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]


def _randomise_bn(model: nn.Module) -> None:
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)


def test_repvgg_reparameterised_form_equals_the_multi_branch_form():
    torch.manual_seed(2)
    model = RepVGG(num_classes=3, blocks=(1, 2, 2, 1), widths=(8, 8, 16, 24))
    _randomise_bn(model)
    # A few training steps move the weights and BN's running statistics off their initial values.
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for _ in range(3):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(images(8)), torch.randint(0, 3, (8,))).backward()
        optimizer.step()
    model.eval()

    deployed = deploy(model)
    x = images(4)
    with torch.no_grad():
        torch.testing.assert_close(deployed(x), model(x), atol=1e-5, rtol=0)

    convs = [m for m in deployed.body.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 6
    assert all(conv.kernel_size == (3, 3) and conv.bias is not None for conv in convs)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in deployed.modules())
    assert deployed.is_deployed
    # The blocks with an identity branch were fused too, and the original keeps its branches.
    assert any(block.identity is not None for block in model.body if isinstance(block, RepVGGBlock))
    assert not model.is_deployed


@pytest.mark.parametrize("name", NETWORKS)
def test_onnx_export_equals_pytorch(name, tmp_path):
    options = {**TINY[name], **({"deep_supervision": True} if name == "unetpp" else {})}
    model = build(name, num_classes=2, **options)
    _randomise_bn(model)
    path = export_onnx(model, images(1), tmp_path / f"{name}.onnx")
    assert model.training  # the model's mode is restored

    exported = onnx.load(str(path))
    assert {node.domain for node in exported.graph.node} <= {"", "ai.onnx"}
    # The batch axis is dynamic: a batch of 3 runs through a model traced on 2 images.
    assert check_onnx(model, path, images(3)) <= 1e-4

    if name == "repvgg":
        deployed = deploy(model)
        export_onnx(deployed, images(2), tmp_path / "d.onnx")
        assert check_onnx(deployed, tmp_path / "d.onnx", images(2)) <= 1e-4
        with torch.no_grad():
            deployed.head.bias += 1
        with pytest.raises(OnnxMismatchError, match="differs from PyTorch's by 1"):
            check_onnx(deployed, tmp_path / "d.onnx", images(2))


def _three_training_losses(seed: int) -> list[float]:
    generator = seed_everything(seed)
    model = build("resnet", num_classes=2, **TINY["resnet"])
    data = torch.randn(12, 3, 32, 32, generator=generator)
    labels = torch.randint(0, 2, (12,), generator=generator)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(data, labels),
        batch_size=4,
        shuffle=True,
        generator=generator,
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    for batch, target in loader:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(batch), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_the_same_seed_gives_bit_identical_losses():
    first = _three_training_losses(7)
    assert torch.are_deterministic_algorithms_enabled()
    assert len(first) == 3
    assert _three_training_losses(7) == first
    assert _three_training_losses(8) != first


def test_pick_device():
    assert pick_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert pick_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            pick_device("cuda")


def test_onnx_export_falls_back_to_the_torchscript_exporter(tmp_path, monkeypatch, caplog):
    from model_bench.networks import onnx_export

    def broken(*args, **kwargs):
        raise RuntimeError("no torch.export today")

    monkeypatch.setattr(onnx_export, "_export_dynamo", broken)
    model = build("vgg", num_classes=2, **TINY["vgg"])
    path = export_onnx(model, images(2), tmp_path / "vgg.onnx")
    assert "trying the TorchScript exporter" in caplog.text
    assert check_onnx(model, path, images(5)) <= 1e-4


def test_onnx_export_logs_nothing_at_info(tmp_path, caplog):
    # The exporter's passes log at INFO and torch warns that torchvision is missing on every
    # export; a job's log and run_benchmark's output would drown in it.
    network = build("repvgg", num_classes=2, width_multiplier=0.25)
    with caplog.at_level(logging.INFO):
        export_onnx(network, torch.randn(2, 3, 32, 32), tmp_path / "quiet.onnx")
    noisy = [r for r in caplog.records if r.name.startswith(("onnx_ir", "onnxscript", "torch"))]
    assert noisy == []
    # The levels come back after the export.
    assert logging.getLogger("onnx_ir").level == logging.NOTSET
