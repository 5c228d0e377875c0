"""u2netp with its four heaviest convolutions in int8, built once at provisioning time; served
when MODEL_PRECISION=int8 (opt-in: see below why it is not the default).

u2netp is ~19.8 G multiply-adds per 320×320 input, and four convolutions carry 67 % of them
(`INT8_CONVOLUTIONS`: the three 64-channel ones at 320×320 and the decoder's 128→64 at 160×160).
Only those run in int8 (VNNI/AMX); everything else stays float32, because the whole model in int8
moves the masks too far (people.jpg IoU 0.976 against the float model; and one convolution,
whose input concatenates an activation of range 0..228 with ones of range 0..5, breaks them
outright: IoU 0.18-0.86). The forward pass takes 0.52-0.63× the float model's time (2-core AMD
EPYC with AVX-512 VNNI; 2-core Xeon with AMX; bench/pipeline.py --part runtimes).

Recipe (version 2): each int8 input's range is cut at the CALIBRATION_PERCENTILE of its values
instead of their maximum, and each convolution's bias then absorbs the mean error quantizing adds
to its output channels ("fast bias correction"). Against version 1 (MinMax ranges, no correction)
this lifts the masks' IoU against rembg's on chelsea from 0.989 to 0.993, chelsea×4 0.981 → 0.991,
the 12 MP mosaic 0.988 → 0.993, and against the float model on GT10 0.908 → 0.960; every other
real photo stays ≥ 0.99 (tests/removal/test_quantize.py).
Still not the default: on the 48 MP mosaic its mask is 0.980 from the float model's (the float
model's own mask moves 0.990 when the photo is re-saved as JPEG q95), under the bar
test_segment.py and test_draft.py hold the float model to. Measured and not adopted either: only
Conv_810 and Conv_680 in int8 (~0.65× the time; Conv_942 and Conv_132 move that mosaic most)
keep every real photo ≥ 0.99 (GT10 0.990-0.992) but land on the 48 MP mosaic at 0.9891-0.9903
by recipe detail (MinMax or percentile ranges), i.e. on the bar itself.

onnxruntime's static quantizer writes the four as QuantizeLinear/DequantizeLinear pairs
(activations uint8 in the ranges above, weights int8 per channel, biases float); OpenVINO reads
those as int8 convolutions, and the result is saved as OpenVINO IR so a server does not convert
it again. The calibration photos are the colour photographs that ship inside scikit-image
(installed with rembg), with a mirrored and two cropped variants each; of the photos the bar is
measured on, only astronaut and coffee are among them. Building takes ~40 s (120 runs of the
model on onnxruntime).

    python -m removal.provision      # installs u2netp.onnx, then builds this next to it
"""

import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from removal.config import int8_paths

INT8_CONVOLUTIONS = (  # node names in u2netp.onnx (md5 8e83ca70…), by multiply-adds
    "Conv_810",  # stage 1 decoder in: 128→64 at 320×320, 7.55 G
    "Conv_132",  # stage 1 encoder out: 32→64 at 320×320, 1.89 G
    "Conv_942",  # stage 1 decoder out: 32→64 at 320×320, 1.89 G
    "Conv_680",  # stage 2 decoder in: 128→64 at 160×160, 1.89 G
)
CALIBRATION_PERCENTILE = 99.999  # of each int8 convolution's input values: the top of its range
CALIBRATION_PHOTOS = ("chelsea", "rocket", "motorcycle_left", "camera", "coffee", "astronaut")


def _calibration_inputs() -> list[np.ndarray]:
    """Each photo as the model sees it, plus its mirror image and two crops (24 inputs)."""
    from importlib.resources import files

    from removal.segment import model_input

    folder = files("skimage.data")
    inputs = []
    for name in CALIBRATION_PHOTOS:
        (found,) = [entry for entry in folder.iterdir() if entry.name.split(".")[0] == name]
        with found.open("rb") as fh:
            photo = Image.open(fh).convert("RGB")
        width, height = photo.size
        for variant in (photo, photo.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
                        photo.crop((0, 0, width * 3 // 4, height)),
                        photo.crop((width // 4, height // 4, width, height))):
            inputs.append(model_input(variant).data)
    return inputs


def _with_outputs(model, names: list[str]):
    """A copy of `model` that also returns the tensors `names` (for onnxruntime)."""
    import onnx

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for name in names:
        copy.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    return copy


def _tensors(model, names: list[str], inputs: list[np.ndarray]) -> Iterator[dict[str, np.ndarray]]:
    """The values of the tensors `names` for each calibration input in turn (onnxruntime, CPU)."""
    import onnxruntime as ort

    session = ort.InferenceSession(_with_outputs(model, names).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    input_name = model.graph.input[0].name
    for data in inputs:
        yield dict(zip(names, session.run(names, {input_name: data}), strict=True))


def _channel_mean(values: np.ndarray) -> np.ndarray:
    return values.mean(axis=(0, 2, 3), dtype=np.float64)


def _float_statistics(model, convolutions: list[Any], inputs: list[np.ndarray]
                      ) -> tuple[dict[str, tuple[float, float]], dict[str, np.ndarray]]:
    """One pass of the float model over the calibration inputs, for both steps of the recipe:
    each int8 convolution's input range, 0 (the inputs are ReLU outputs) to the
    CALIBRATION_PERCENTILE of its values (MinMax's range is set by a handful of outliers and
    leaves too few steps for the rest: chelsea IoU 0.989 against 0.993); and each one's output
    mean per channel, which _biases_correct aims at."""
    names = [node.input[0] for node in convolutions]
    outputs = [node.output[0] for node in convolutions]
    tops: dict[str, list[np.ndarray]] = {name: [] for name in names}
    low = dict.fromkeys(names, 0.0)
    above: dict[str, int] = {}  # how many values lie above the percentile, over all inputs
    sums: dict[str, Any] = dict.fromkeys(outputs, 0.0)
    for run in _tensors(model, names + outputs, inputs):
        for name in names:
            values = run[name].ravel()
            cut = above.setdefault(name, max(1, int(np.ceil(
                values.size * len(inputs) * (100 - CALIBRATION_PERCENTILE) / 100))))
            # The `cut` largest of all inputs are among the `cut` largest of each.
            tops[name].append(np.partition(values, values.size - cut)[values.size - cut:])
            low[name] = min(low[name], float(values.min()))
        for name in outputs:
            sums[name] = sums[name] + _channel_mean(run[name])
    ranges = {}
    for name in names:
        top = np.concatenate(tops[name])
        ranges[name] = (low[name], float(np.partition(top, top.size - above[name])[top.size - above[name]]))
    return ranges, {name: total / len(inputs) for name, total in sums.items()}


def _biases_correct(qdq_path: Path, convolutions: list[Any], inputs: list[np.ndarray],
                    exact: dict[str, np.ndarray]) -> None:
    """Fast bias correction, one convolution after the other in graph order: add to each output
    channel's bias the difference between the float model's mean output (`exact`) and the
    quantized one's (given everything before it already corrected). Rounding errors that do not
    average out would otherwise shift whole channels (Conv_942's by up to 0.07)."""
    import onnx
    from onnx import numpy_helper

    quantized = onnx.load(str(qdq_path))
    for node in convolutions:
        name = node.output[0]
        mean = sum(_channel_mean(run[name]) for run in _tensors(quantized, [name], inputs)) / len(inputs)
        (bias,) = [init for init in quantized.graph.initializer if init.name == node.input[2]]
        corrected = numpy_helper.to_array(bias) + (exact[name] - mean).astype(np.float32)
        bias.CopyFrom(numpy_helper.from_array(corrected, bias.name))
    onnx.save(quantized, str(qdq_path))


def int8_build(onnx_path: Path, home: Path) -> Path:
    """Quantize INT8_CONVOLUTIONS of `onnx_path` and write the IR into `home` (the .bin first,
    then the .xml a reader looks for, each by an atomic rename). Returns the .xml path."""
    import onnx
    import openvino as ov
    from onnx import version_converter
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    # Per-channel weight scales need DequantizeLinear's `axis`, which came with opset 13.
    source = version_converter.convert_version(onnx.load(str(onnx_path)), 13)
    convolutions = [node for node in source.graph.node if node.name in INT8_CONVOLUTIONS]  # graph order
    inputs = _calibration_inputs()
    ranges, exact = _float_statistics(source, convolutions, inputs)
    calibration = iter(inputs[:1])  # the quantizer calibrates what it does not get a range for

    class Photos(CalibrationDataReader):
        def get_next(self) -> dict[str, np.ndarray] | None:
            data = next(calibration, None)
            return None if data is None else {source.graph.input[0].name: data}

    with tempfile.TemporaryDirectory(dir=home) as tmp:
        source_path, qdq = Path(tmp) / "opset13.onnx", Path(tmp) / "qdq.onnx"
        onnx.save(source, str(source_path))
        logging.disable(logging.WARNING)  # its advice to run its pre-processing first: not needed here
        try:
            quantize_static(
                str(source_path), str(qdq), Photos(), quant_format=QuantFormat.QDQ,
                nodes_to_quantize=list(INT8_CONVOLUTIONS), per_channel=True,
                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.MinMax,
                extra_options={
                    "QuantizeBias": False,  # float biases, so that _biases_correct can move them
                    "TensorQuantOverrides": {
                        name: [{"rmin": np.float32(low), "rmax": np.float32(high)}]
                        for name, (low, high) in ranges.items()
                    },
                },
            )
        finally:
            logging.disable(logging.NOTSET)
        _biases_correct(qdq, convolutions, inputs, exact)
        quantized = ov.Core().read_model(str(qdq))
        quantized.reshape([1, 3, 320, 320])
        part = Path(tmp) / "part.xml"
        ov.save_model(quantized, str(part), compress_to_fp16=False)
        xml, binary = int8_paths(home)
        os.replace(part.with_suffix(".bin"), binary)
        os.replace(part, xml)
    return xml
