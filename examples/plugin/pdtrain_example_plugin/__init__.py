"""An example pdtrain plugin: one command and one output format."""
