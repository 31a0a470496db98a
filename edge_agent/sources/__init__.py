"""The agent's inputs: CAN through python-can, NMEA and the sensor board on serial.

Imports notary_core, firmware_bridge and edge_agent's own modules.
"""
