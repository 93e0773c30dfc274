#!/usr/bin/python3
"""PyTorch peer of scripts/bench/cmrc.lua: scripts/bench/ner.py --tasks cmrc."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.exit(subprocess.call([sys.executable, os.path.join(HERE, "ner.py"), "--tasks", "cmrc"] + sys.argv[1:]))
