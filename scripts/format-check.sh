#!/usr/bin/env bash
# Fails when any Swift file differs from the style in .swift-format (line length 140, 4-space indent).
# Fix what it reports with: swift format --in-place --recursive --parallel Sources Tests Plugins Package.swift
set -euo pipefail
cd "$(dirname "$0")/.."
swift format lint --strict --recursive --parallel Sources Tests Plugins Package.swift
