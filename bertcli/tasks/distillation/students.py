"""Students: a smaller BERT made from its teacher, and the map from its layers to the teacher's.

Three ways: the teacher with some of its layers (DistilBERT: every other one; the embeddings, pooler and head come
along), optionally narrowed (Minitron-style width pruning: the teacher's most important hidden channels, attention
heads and feed-forward units kept); a new model of a named size with the teacher's vocabulary (TinyBERT: 4 layers
of 312); or a model directory (a student that `distill general` made).
"""

from __future__ import annotations

import copy

import torch

from bertcli.modeling import SIZES

PRESETS = {
    **{name: (layers, hidden, hidden // 64, 4 * hidden) for name, (layers, hidden) in SIZES.items()},
    "tinybert": (4, 312, 12, 1200),
}  # layers, hidden, heads, feed-forward


def teacher_layers(spec: str | None, teacher_depth: int) -> list[int]:
    """The teacher's layers the student keeps: "0,2,4" as given, "3" evenly spaced, none: every other one."""
    if spec and "," in spec:
        layers = [int(p) for p in spec.split(",")]
    else:
        count = int(spec) if spec else max(1, teacher_depth // 2)
        layers = [round(i * teacher_depth / count) for i in range(count)]
    from bertcli.errors import BertcliError

    if not layers or any(not 0 <= i < teacher_depth for i in layers) or len(set(layers)) < len(layers):
        raise BertcliError(
            f"--student-layers {spec}: the teacher has layers 0 to {teacher_depth - 1}; give distinct "
            "ones, or a count up to its depth"
        )
    return sorted(layers)


def from_teacher_layers(teacher: torch.nn.Module, layers: list[int]) -> torch.nn.Module:
    """A copy of `teacher` that keeps only `layers` of its encoder (and everything else it has)."""
    student = copy.deepcopy(teacher)
    encoder = student.base_model.encoder
    encoder.layer = torch.nn.ModuleList([encoder.layer[i] for i in layers])
    for i, layer in enumerate(encoder.layer):  # attention modules know their index (caches, eager masks)
        for module in layer.modules():
            if hasattr(module, "layer_idx"):
                module.layer_idx = i
    student.config.num_hidden_layers = len(layers)
    return student.train().requires_grad_(True)


def narrowed(model: torch.nn.Module, width: int) -> torch.nn.Module:
    """`model` (a BERT with any head) at hidden width `width`: the same head size with fewer heads, the
    feed-forward in proportion, each cut to the units whose weights carry most. Importance by weights alone:
    a hidden channel by its LayerNorm gains summed over the model, a head by the norms of its value and output
    slices, a feed-forward unit by its input and output weights' norms. What is cut is lost; distillation
    restores what it can."""
    config = model.config
    hidden, heads = config.hidden_size, config.num_attention_heads
    head_size = hidden // heads
    new_heads, inner = width // head_size, config.intermediate_size * width // hidden
    norms = [p for n, p in model.named_parameters() if n.endswith("LayerNorm.weight") and p.shape == (hidden,)]
    gains = sum(p.detach().abs() for p in norms)
    channels = top(gains, width)
    kept_heads, units = {}, {}
    for i, layer in enumerate(model.base_model.encoder.layer):
        value = layer.attention.self.value.weight.detach().view(heads, head_size, hidden)
        output = layer.attention.output.dense.weight.detach().view(hidden, heads, head_size)
        score = value.norm(dim=(1, 2)) * output.norm(dim=(0, 2))
        head_rows = torch.arange(hidden).view(heads, head_size)[top(score, new_heads)]
        kept_heads[i] = head_rows.flatten()
        w_in, w_out = layer.intermediate.dense.weight.detach(), layer.output.dense.weight.detach()
        units[i] = top(w_in.norm(dim=1) * w_out.norm(dim=0), inner)

    def index(name: str, dim: int, size: int) -> torch.Tensor | None:
        """The kept indices along `dim` of parameter `name` (None: keep all)."""
        parts = name.split(".")
        layer = int(parts[parts.index("layer") + 1]) if "layer" in parts else None
        if layer is not None and any(f".attention.self.{p}." in name for p in ("query", "key", "value")):
            return kept_heads[layer] if dim == 0 else channels
        if layer is not None and ".attention.output.dense.weight" in name and dim == 1:
            return kept_heads[layer]
        if layer is not None and ".intermediate.dense." in name and dim == 0:
            return units[layer]
        if layer is not None and ".output.dense.weight" in name and ".attention." not in name and dim == 1:
            return units[layer]
        return channels if size == hidden else None

    small = copy.deepcopy(config)
    small.update({"hidden_size": width, "num_attention_heads": new_heads, "intermediate_size": inner})
    student = type(model)(small)
    state = {}
    for name, tensor in model.state_dict().items():
        for dim, size in enumerate(tensor.shape):
            kept = index(name, dim, size)
            if kept is not None:
                tensor = tensor.index_select(dim, kept)
        state[name] = tensor.clone()
    student.load_state_dict(state)
    return student.train().requires_grad_(True)


def top(scores: torch.Tensor, k: int) -> torch.Tensor:
    """The indices of the k largest scores, in their original order."""
    return scores.topk(k).indices.sort().values


def of_size(auto_class, teacher_config, size: str, **kwargs) -> torch.nn.Module:
    """A new model of `auto_class` and a named size, with the teacher's vocabulary, positions and labels."""
    layers, hidden, heads, inner = PRESETS[size]
    config = copy.deepcopy(teacher_config)
    config.update(
        {"num_hidden_layers": layers, "hidden_size": hidden, "num_attention_heads": heads, "intermediate_size": inner}
    )
    for key, value in kwargs.items():
        setattr(config, key, value)
    return auto_class.from_config(config)


def layer_map(
    student_depth: int, teacher_depth: int, layers: list[int] | None, how: str = "auto"
) -> list[tuple[int, int]]:
    """(student, teacher) indices into `hidden_states` (0: the embeddings' output) of the layers distilled. `how`:
    source, each student layer against the teacher layer it came from (`layers`); uniform, TinyBERT's g(m) = m * N /
    M, the student's last layer against the teacher's last; auto, source for a student of the teacher's layers."""
    if how == "source" and layers is None:
        from bertcli.errors import BertcliError

        raise BertcliError(
            "--layer-map source: this student was not taken from the teacher's layers (--student-layers); "
            "use --layer-map uniform"
        )
    if layers is not None and how != "uniform":
        return [(i + 1, layer + 1) for i, layer in enumerate(layers)]
    return [(m, round(m * teacher_depth / student_depth)) for m in range(1, student_depth + 1)]
