"""convt-harness: a cross-framework conformance harness for transposed convolution.

Importing the package applies the BLAS thread setting of :mod:`harness.process` (before NumPy
loads in any harness process).
"""

from harness.process import apply_blas_environment

apply_blas_environment()
