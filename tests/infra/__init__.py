"""Shared test infrastructure: a fleet CA (`pki`) and a real mosquitto broker (`mqtt_broker`)."""
