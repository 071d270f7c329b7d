"""PaddlePaddle: ``paddle.nn`` and ``paddle.functional`` targets, their padding forms, documented
sizes and the calls ``port`` reads."""
