"""TensorRT: one ``IDeconvolutionLayer`` per case on the GPU or DLA; its attributes, documented sizes
and DLA and int8 rules are pure and tested everywhere."""
