"""The nightly chart and `sleepenv report`: one PNG per bed-night, and a trend over nights.

`night.py` gathers what a chart shows (from the store or from an analysis document),
`chart.py` draws it with matplotlib (imported lazily: heavy, and only needed here),
`command.py` is the command line.
"""
