"""ONNX Runtime: one ``ConvTranspose`` node per case, at opsets 22 and 11 or with ``output_shape``,
on the CPU, CUDA or TensorRT execution providers."""
