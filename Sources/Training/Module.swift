// Training: see Package.swift
