"""u2netp with its four heaviest convolutions in int8, built once at provisioning time; served
when MODEL_PRECISION=int8 (opt-in: see below why it is not the default).

u2netp is ~19.8 G multiply-adds per 320×320 input, and four convolutions carry 67 % of them
(`INT8_CONVOLUTIONS`: the three 64-channel ones at 320×320 and the decoder's 128→64 at 160×160).
Only those run in int8 (VNNI); everything else stays float32, because the whole model in int8
moves the masks too far (people.jpg IoU 0.976 against the float model; and one convolution,
whose input concatenates an activation of range 0..228 with ones of range 0..5, breaks them
outright: IoU 0.18-0.86). On a 2-core AMD EPYC with AVX-512 VNNI the forward pass takes
0.57-0.63× the float model's time (bench/pipeline.py --part runtimes), and the masks keep
IoU ≥ 0.99 with the float model's on 16 of 17 real photos (tests/removal/test_quantize.py).
Not the default because the int8 model is less stable under small input changes: its masks fall
to IoU 0.98-0.99 against rembg's on chelsea and the 12 MP mosaic, and a 48 MP photo's reduced and
plain-LANCZOS inputs then give masks 0.97 apart (0.99+ in float32): the bars test_segment.py and
test_draft.py hold the float model to.

onnxruntime's static quantizer writes the four as QuantizeLinear/DequantizeLinear pairs
(activations uint8 from MinMax calibration, weights int8 per channel); OpenVINO reads those as
int8 convolutions, and the result is saved as OpenVINO IR so a server does not convert it again.
The calibration photos are the colour photographs that ship inside scikit-image (installed with
rembg), with a mirrored and two cropped variants each; of the photos the bar is measured on,
only astronaut and coffee are among them.

    python -m removal.provision      # installs u2netp.onnx, then builds this next to it
"""

import logging
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

INT8_MODEL = "u2netp"  # the one model quantized: the others run in float32
INT8_VERSION = 1  # part of the file name: a change of recipe builds a new file
INT8_STEM = f"{INT8_MODEL}-int8-v{INT8_VERSION}"
INT8_CONVOLUTIONS = (  # node names in u2netp.onnx (md5 8e83ca70…), by multiply-adds
    "Conv_810",  # stage 1 decoder in: 128→64 at 320×320, 7.55 G
    "Conv_132",  # stage 1 encoder out: 32→64 at 320×320, 1.89 G
    "Conv_942",  # stage 1 decoder out: 32→64 at 320×320, 1.89 G
    "Conv_680",  # stage 2 decoder in: 128→64 at 160×160, 1.89 G
)
CALIBRATION_PHOTOS = ("chelsea", "rocket", "motorcycle_left", "camera", "coffee", "astronaut")


def int8_paths(home: Path) -> tuple[Path, Path]:
    """The quantized model's OpenVINO IR: its graph (.xml) and its weights (.bin)."""
    return home / f"{INT8_STEM}.xml", home / f"{INT8_STEM}.bin"


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

    model = onnx.load(str(onnx_path))
    input_name = model.graph.input[0].name
    calibration = iter(_calibration_inputs())

    class Photos(CalibrationDataReader):
        def get_next(self) -> dict[str, np.ndarray] | None:
            data = next(calibration, None)
            return None if data is None else {input_name: data}

    with tempfile.TemporaryDirectory(dir=home) as tmp:
        # Per-channel weight scales need DequantizeLinear's `axis`, which came with opset 13.
        source, qdq = Path(tmp) / "opset13.onnx", Path(tmp) / "qdq.onnx"
        onnx.save(version_converter.convert_version(model, 13), str(source))
        logging.disable(logging.WARNING)  # its advice to run its pre-processing first: not needed here
        try:
            quantize_static(
                str(source), str(qdq), Photos(), quant_format=QuantFormat.QDQ,
                nodes_to_quantize=list(INT8_CONVOLUTIONS), per_channel=True,
                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.MinMax,
            )
        finally:
            logging.disable(logging.NOTSET)
        quantized = ov.Core().read_model(str(qdq))
        quantized.reshape([1, 3, 320, 320])
        part = Path(tmp) / "part.xml"
        ov.save_model(quantized, str(part), compress_to_fp16=False)
        xml, binary = int8_paths(home)
        os.replace(part.with_suffix(".bin"), binary)
        os.replace(part, xml)
    return xml
