// Datasets: see Package.swift
