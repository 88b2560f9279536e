"""Sub-commands of the ``freqpipe`` command line, one module each (wired in ``freqpipe.cli``)."""
