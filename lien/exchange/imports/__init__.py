"""Imports: CSV (UTF-8 or Windows-1252, `;` or `,`) and XLSX files brought into Lien.

upload (kind + file) → column mapping → dry run (background task: counts and rejected
rows) → commit (background task, all-or-nothing). See docs/architecture.md.
"""
