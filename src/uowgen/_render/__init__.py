"""Rendering: the template's typed context, the copier answers, the one copier import."""
