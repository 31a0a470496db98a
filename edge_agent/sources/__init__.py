"""The agent's inputs: CAN through python-can, NMEA and the sensor board on serial. May import firmware_bridge and notary_core."""
