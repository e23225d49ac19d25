// NeuralNetworks: see Package.swift
