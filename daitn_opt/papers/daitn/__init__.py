"""``daitn-opt paper da-itn``: the DA-ITN paper's experiments, made measurable (issue 16).

One module per experiment, each ``run(settings, progress) -> Section``; :mod:`.run` runs them in
order and writes Markdown, CSV and PNG files under ``papers/da-itn/``.
"""
