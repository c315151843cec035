"""Training and loss-variant ablations for registered models (`srbench train`, `srbench ablate`).

`losses` holds the loss terms and the spec parser, `boundary` the boundary ground truth,
`data` the patch sampler, `loop` the resumable training loop, `checkpoint` the checkpoint
format, and `ablate` the sweeps. Nothing here is imported by `import srbench`.
"""
